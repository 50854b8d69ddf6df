"""factory_boy factories, one per model. Rows are shaped as the services write them (an
Answer's item, project, worker and guideline come from its Assignment), but a factory never
runs a service: counters such as `HIT.slots_taken` are the test's business
(`hit_slots_recount`). `.build()` works on every factory where no row is needed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
import sklearn
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.crowds.models import (
    InviteLink,
    Membership,
    WorkerGroup,
    invite_token_hash,
)
from apps.models.models import (
    Feedback,
    ItemFlag,
    LearningSettings,
    ModelVersion,
    Prediction,
    RescoreRun,
    TrainingRun,
    WebhookDelivery,
    WebhookSlot,
)
from apps.mturk.models import (
    AccessKey,
    HITExtension,
    HITType,
    MturkAssignment,
    MturkBonus,
    MturkHIT,
    QualificationType,
    WorkerId,
    WorkerNotice,
    WorkerQualification,
)
from apps.mturk.services.access_keys import SECRET_PURPOSE
from apps.panels.models import PanelLink, PanelParticipant
from apps.tasks.models import (
    HIT,
    AggregationRun,
    AggregationState,
    Answer,
    Assignment,
    AuditEvent,
    Batch,
    GuidelineVersion,
    Item,
    Project,
)
from apps.workers.models import (
    Block,
    Deposit,
    LedgerCheckpoint,
    LedgerEntry,
    Qualification,
    WorkerStats,
)
from hitlcrowd import secretbox

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    role = "worker"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class WorkerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"worker{n}")
    role = "worker"


class RequesterFactory(UserFactory):
    username = factory.Sequence(lambda n: f"requester{n}")
    role = "requester"


class AdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin{n}")
    role = "requester"
    is_staff = True
    is_superuser = True


class ProjectFactory(factory.django.DjangoModelFactory):
    """A public project; `visibility="private", groups=[...]` makes a private one."""

    class Meta:
        model = Project
        skip_postgeneration_save = True

    owner = factory.SubFactory(RequesterFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    item_kind = Project.ItemKind.TEXT
    labels = factory.LazyFunction(lambda: ["cat", "dog", "bird"])
    min_overlap = 2
    max_overlap = 5
    confidence_threshold = 0.9

    @factory.post_generation
    def groups(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.groups.set(extracted)


class WorkerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkerGroup

    owner = factory.SubFactory(RequesterFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    """A worker added to a group by its owner."""

    class Meta:
        model = Membership

    group = factory.SubFactory(WorkerGroupFactory)
    worker = factory.SubFactory(WorkerFactory)
    source = Membership.Source.ADDED
    added_by = factory.SelfAttribute("group.owner")


class InviteLinkFactory(factory.django.DjangoModelFactory):
    """A live invite link; its token (shown once in real life) is `token` here, passed in or
    `invite-token-N`."""

    class Meta:
        model = InviteLink
        exclude = ("token",)

    group = factory.SubFactory(WorkerGroupFactory)
    token = factory.Sequence(lambda n: f"invite-token-{n:040d}")
    token_hash = factory.LazyAttribute(lambda o: invite_token_hash(o.token))
    hint = factory.LazyAttribute(lambda o: o.token[:6])
    created_by = factory.SelfAttribute("group.owner")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class GuidelineVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuidelineVersion

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    text = "Pick the animal in the picture."
    author = factory.SelfAttribute("project.owner")
    published_at = factory.LazyFunction(timezone.now)


class GuidelineAcknowledgementFactory(factory.django.DjangoModelFactory):
    """A worker read a version; without it the claim answers 409 guideline_not_acknowledged."""

    class Meta:
        model = "tasks.GuidelineAcknowledgement"

    guideline = factory.SubFactory(GuidelineVersionFactory)
    worker = factory.SubFactory(WorkerFactory)


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    project = factory.SubFactory(ProjectFactory)
    uploaded_by = factory.SelfAttribute("project.owner")
    format = Batch.Format.JSONL
    status = Batch.Status.IMPORTED


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"item-{n}")
    payload = factory.LazyAttribute(lambda o: {"text": f"text of {o.external_id}"})
    state = Item.State.WAITING


class HITFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HIT

    item = factory.SubFactory(ItemFactory)
    project = factory.SelfAttribute("item.project")
    answers_wanted = 2
    is_gold = factory.SelfAttribute("item.is_gold")


class AssignmentFactory(factory.django.DjangoModelFactory):
    """A live lease, as assignment_claim leaves it (without taking the HIT's slot)."""

    class Meta:
        model = Assignment

    hit = factory.SubFactory(HITFactory)
    project = factory.SelfAttribute("hit.project")
    worker = factory.SubFactory(WorkerFactory)
    state = Assignment.State.LEASED
    lease_expires_at = factory.LazyAttribute(
        lambda o: timezone.now() + timedelta(seconds=o.project.lease_seconds)
    )

    class Params:
        submitted = factory.Trait(
            state=Assignment.State.SUBMITTED, finished_at=factory.LazyFunction(timezone.now)
        )


class AnswerFactory(factory.django.DjangoModelFactory):
    """A submitted answer. Its item, project, worker and guideline version are its
    assignment's: pick them with `assignment__hit=...`, `assignment__worker=...`."""

    class Meta:
        model = Answer

    assignment = factory.SubFactory(AssignmentFactory, submitted=True)
    item = factory.SelfAttribute("assignment.hit.item")
    project = factory.SelfAttribute("assignment.project")
    worker = factory.SelfAttribute("assignment.worker")
    guideline_version = factory.SelfAttribute("assignment.guideline_version")
    label = factory.LazyAttribute(lambda o: o.project.labels[0])
    seconds_spent = 3.0


class AggregationRunFactory(factory.django.DjangoModelFactory):
    """A consensus run still running, as aggregation_run_start leaves it."""

    class Meta:
        model = AggregationRun

    project = factory.SubFactory(ProjectFactory)
    method = factory.SelfAttribute("project.aggregation_method")


class AggregationStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AggregationState
        django_get_or_create = ("project",)

    project = factory.SubFactory(ProjectFactory)


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    project = factory.SubFactory(ProjectFactory)
    actor = factory.SelfAttribute("project.owner")
    action = AuditEvent.Action.PROJECT_UPDATE
    object_type = "project"
    object_id = factory.LazyAttribute(lambda o: str(o.project.pk))
    changes = factory.LazyFunction(lambda: {"name": ["Old", "New"]})


class QualificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Qualification

    worker = factory.SubFactory(WorkerFactory)
    project = factory.SubFactory(ProjectFactory)
    state = Qualification.State.TESTING


class WorkerStatsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkerStats

    worker = factory.SubFactory(WorkerFactory)
    project = factory.SubFactory(ProjectFactory)


class BlockFactory(factory.django.DjangoModelFactory):
    """An active automatic block on one project (`project=None`: account-wide)."""

    class Meta:
        model = Block

    worker = factory.SubFactory(WorkerFactory)
    project = factory.SubFactory(ProjectFactory)
    reason = "Spam score too low."
    automatic = True


class LedgerEntryFactory(factory.django.DjangoModelFactory):
    """A credit for an answer, as ledger_credit_answer writes it; `bonus=True`: a bonus, which
    has no answer (pass its worker and project)."""

    class Meta:
        model = LedgerEntry

    answer = factory.SubFactory(AnswerFactory)
    worker = factory.SelfAttribute("answer.worker")
    project = factory.SelfAttribute("answer.project")
    kind = LedgerEntry.Kind.CREDIT
    amount = Decimal("0.0500")

    class Params:
        bonus = factory.Trait(
            kind=LedgerEntry.Kind.BONUS,
            answer=None,
            worker=factory.SubFactory(WorkerFactory),
            project=factory.SubFactory(ProjectFactory),
            amount=Decimal("1.0000"),
            reason="Good work.",
        )


class DepositFactory(factory.django.DjangoModelFactory):
    """Prepaid funds paid in for a requester, as ledger_deposit writes them."""

    class Meta:
        model = Deposit

    requester = factory.SubFactory(RequesterFactory)
    amount = Decimal("100.0000")
    reason = "Invoice 1"


class AccessKeyFactory(factory.django.DjangoModelFactory):
    """A live access key, its secret encrypted as access_key_create stores it; the plain secret
    is `secret` (a parameter), the test's to sign with."""

    class Meta:
        model = AccessKey
        exclude = ("secret",)

    requester = factory.SubFactory(RequesterFactory)
    access_key_id = factory.Sequence(lambda n: f"AKIATEST{n:012d}")
    secret = factory.Sequence(lambda n: f"test-secret-{n:028d}")
    secret_encrypted = factory.LazyAttribute(
        lambda key: secretbox.encrypt(purpose=SECRET_PURPOSE, plaintext=key.secret)
    )
    label = "tests"


class HITTypeFactory(factory.django.DjangoModelFactory):
    """An MTurk HIT type as hit_type_create makes it (its fingerprint unique per requester)."""

    class Meta:
        model = HITType

    requester = factory.SubFactory(RequesterFactory)
    hit_type_id = factory.Sequence(lambda n: f"3TESTHITTYPE{n:018d}")
    title = factory.Sequence(lambda n: f"Label picture set {n}")
    description = "Say what is in each picture."
    reward = Decimal("0.05")
    assignment_duration_seconds = 600
    auto_approval_delay_seconds = 3600
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    # The project hit_type_create makes with it (mturk_project_values).
    project = factory.SubFactory(
        ProjectFactory,
        owner=factory.SelfAttribute("..requester"),
        kind=Project.Kind.MTURK,
        name=factory.SelfAttribute("..title"),
        labels=[],
        reward_per_answer=factory.SelfAttribute("..reward"),
        lease_seconds=factory.SelfAttribute("..assignment_duration_seconds"),
        min_overlap=1,
        max_overlap=1,
        gold_share=0,
    )


class MturkHITFactory(factory.django.DjangoModelFactory):
    """An MTurk HIT as hit_create makes it: an item and a HIT of its type's project, wanting
    `task_hit__answers_wanted` answers (1), expiring in an hour."""

    class Meta:
        model = MturkHIT

    hit_type = factory.SubFactory(HITTypeFactory)
    requester = factory.SelfAttribute("hit_type.requester")
    hit_id = factory.Sequence(lambda n: f"3TESTHIT{n:022d}")
    task_hit = factory.SubFactory(
        HITFactory,
        item__project=factory.SelfAttribute("...hit_type.project"),
        item__external_id=factory.SelfAttribute("...hit_id"),
        item__payload=factory.LazyAttribute(lambda item: {"mturk_hit_id": item.external_id}),
        answers_wanted=1,
        expires_at=factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1)),
    )
    question = (
        '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/'
        'AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">'
        "<ExternalURL>https://tasks.example.org/q</ExternalURL>"
        "<FrameHeight>600</FrameHeight></ExternalQuestion>"
    )
    question_kind = MturkHIT.QuestionKind.EXTERNAL


class MturkAssignmentFactory(factory.django.DjangoModelFactory):
    """A submitted MTurk assignment on `mturk_hit`, its lease submitted and its Answer
    recorded, not paid (an MTurk answer is credited on approval)."""

    class Meta:
        model = MturkAssignment
        skip_postgeneration_save = True

    mturk_hit = factory.SubFactory(MturkHITFactory)
    assignment_id = factory.Sequence(lambda n: f"3TESTASSIGNMENT{n:015d}")
    task_assignment = factory.SubFactory(
        AssignmentFactory, hit=factory.SelfAttribute("..mturk_hit.task_hit"), submitted=True
    )
    answer = "<QuestionFormAnswers/>"
    submitted_at = factory.LazyFunction(timezone.now)
    auto_approval_at = factory.LazyAttribute(
        lambda o: (
            o.submitted_at + timedelta(seconds=o.mturk_hit.hit_type.auto_approval_delay_seconds)
        )
    )

    @factory.post_generation
    def task_answer(obj, create, extracted, **kwargs):
        if create:
            AnswerFactory(assignment=obj.task_assignment, label="", **kwargs)


class MturkBonusFactory(factory.django.DjangoModelFactory):
    """A bonus as SendBonus pays it: a ledger bonus entry to the assignment's worker on its HIT
    type's project, with the assignment and its HIT."""

    class Meta:
        model = MturkBonus

    mturk_assignment = factory.SubFactory(MturkAssignmentFactory)
    mturk_hit = factory.SelfAttribute("mturk_assignment.mturk_hit")
    requester = factory.SelfAttribute("mturk_hit.requester")
    ledger_entry = factory.SubFactory(
        LedgerEntryFactory,
        bonus=True,
        worker=factory.SelfAttribute("..mturk_assignment.task_assignment.worker"),
        project=factory.SelfAttribute("..mturk_hit.hit_type.project"),
        created_by=factory.SelfAttribute("..requester"),
    )


class WorkerIdFactory(factory.django.DjangoModelFactory):
    """A worker's MTurk WorkerId, as worker_id_of makes it."""

    class Meta:
        model = WorkerId

    user = factory.SubFactory(WorkerFactory)
    worker_id = factory.Sequence(lambda n: f"ATEST{n:09d}")


class QualificationTypeFactory(factory.django.DjangoModelFactory):
    """A requester's Active qualification type."""

    class Meta:
        model = QualificationType

    requester = factory.SubFactory(RequesterFactory)
    qualification_type_id = factory.Sequence(lambda n: f"3TESTQUALTYPE{n:017d}")
    name = factory.Sequence(lambda n: f"Knows birds {n}")
    description = "Passed the bird quiz."


class WorkerQualificationFactory(factory.django.DjangoModelFactory):
    """A qualification granted to a worker, with the value 1."""

    class Meta:
        model = WorkerQualification

    qualification_type = factory.SubFactory(QualificationTypeFactory)
    worker = factory.SubFactory(WorkerFactory)
    integer_value = 1
    granted_at = factory.LazyFunction(timezone.now)


class WorkerNoticeFactory(factory.django.DjangoModelFactory):
    """A requester's message to a worker (NotifyWorkers)."""

    class Meta:
        model = WorkerNotice

    requester = factory.SubFactory(RequesterFactory)
    worker = factory.SubFactory(WorkerFactory)
    subject = "A follow-up study"
    message = "It opens on Monday."


class HITExtensionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HITExtension

    mturk_hit = factory.SubFactory(MturkHITFactory)
    requester = factory.SelfAttribute("mturk_hit.requester")
    unique_request_token = factory.Sequence(lambda n: f"extend-{n}")
    assignments_added = 1


class LedgerCheckpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerCheckpoint
        django_get_or_create = ("project",)

    project = factory.SubFactory(ProjectFactory)


class LearningSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LearningSettings
        django_get_or_create = ("project",)

    project = factory.SubFactory(ProjectFactory)


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A trained version (not active unless `active=True`); `imported=True` gives the record
    of an import's predictions (number 0, no artifact), as import_record_ensure writes it."""

    class Meta:
        model = ModelVersion

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    artifact_path = factory.LazyAttribute(lambda o: f"models/{o.project.pk}/v{o.number}/model.zip")
    artifact_sha256 = "0" * 64
    training_set_path = factory.LazyAttribute(
        lambda o: f"models/{o.project.pk}/v{o.number}/training_set.json"
    )
    n_train = 40
    n_holdout = 10
    labels_by_source = factory.LazyFunction(lambda: {"crowd": 50})
    labels_seen = 50
    sklearn_version = sklearn.__version__
    label_set = factory.LazyAttribute(lambda o: list(o.project.labels))

    class Params:
        active = factory.Trait(is_active=True, promoted_at=factory.LazyFunction(timezone.now))
        imported = factory.Trait(
            number=0,
            source=ModelVersion.Source.IMPORT,
            external_name="import",
            artifact_path="",
            artifact_sha256="",
            training_set_path="",
            sklearn_version="",
            n_train=0,
            n_holdout=0,
            labels_by_source=factory.LazyFunction(dict),
            labels_seen=0,
            label_set=factory.LazyFunction(list),
        )


class TrainingRunFactory(factory.django.DjangoModelFactory):
    """A retrain still running (at most one per project)."""

    class Meta:
        model = TrainingRun

    project = factory.SubFactory(ProjectFactory)


class RescoreRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RescoreRun

    model_version = factory.SubFactory(ModelVersionFactory, active=True)
    project = factory.SelfAttribute("model_version.project")


class ItemFlagFactory(factory.django.DjangoModelFactory):
    """An audit sample on an item (at most one flag per item and kind)."""

    class Meta:
        model = ItemFlag

    item = factory.SubFactory(ItemFactory)
    project = factory.SelfAttribute("item.project")
    kind = ItemFlag.Kind.AUDIT


class PredictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prediction

    item = factory.SubFactory(ItemFactory)
    project = factory.SelfAttribute("item.project")


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """A pending delivery to the project's callback URL (a placeholder when it has none)."""

    class Meta:
        model = WebhookDelivery

    item = factory.SubFactory(ItemFactory)
    project = factory.SelfAttribute("item.project")
    url = factory.LazyAttribute(lambda o: o.project.callback_url or "https://example.com/hook")
    body = "{}"


class WebhookSlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookSlot
        django_get_or_create = ("number",)

    number = 1


class FeedbackFactory(factory.django.DjangoModelFactory):
    """A user accepting the model's label on an item."""

    class Meta:
        model = Feedback

    item = factory.SubFactory(ItemFactory)
    project = factory.SelfAttribute("item.project")
    user = factory.SelfAttribute("project.owner")
    label = factory.LazyAttribute(lambda o: o.project.labels[0])
    accepted = True
    model_label = factory.SelfAttribute("label")


class PanelLinkFactory(factory.django.DjangoModelFactory):
    """An active Prolific-style entry link (the default parameter names) on a project."""

    class Meta:
        model = PanelLink

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Study {n}")
    quota = 5
    completion_code = "C0MPLETE"
    created_by = factory.SelfAttribute("project.owner")

    class Params:
        revoked = factory.Trait(revoked_at=factory.LazyFunction(timezone.now))
        expired = factory.Trait(
            expires_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1))
        )


class PanelParticipantFactory(factory.django.DjangoModelFactory):
    """A participant who entered through a link, with the worker identity the entry made."""

    class Meta:
        model = PanelParticipant

    link = factory.SubFactory(PanelLinkFactory)
    participant_id = factory.Sequence(lambda n: f"{n:024x}")
    user = factory.SubFactory(WorkerFactory, username=factory.Sequence(lambda n: f"panel-{n:012x}"))
    study_id = "study-1"
    session_id = factory.Sequence(lambda n: f"session-{n}")

    class Params:
        done = factory.Trait(
            completed_at=factory.LazyFunction(timezone.now),
            outcome=PanelParticipant.Outcome.QUOTA_REACHED,
        )
