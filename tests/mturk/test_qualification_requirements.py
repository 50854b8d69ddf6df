"""QualificationRequirements on HIT types (issue 17 #2): accepted by CreateHITType and CreateHIT
with MTurk's rules, stored and shown on the HIT, and enforced for the HIT type's project: the
claim refuses a worker who does not meet a requirement guarding Accept (or any stricter
guard), and the worker's project list leaves out a type whose DiscoverPreviewAndAccept
requirement they do not meet. The values come from the platform: granted qualifications, the
worker's answers (approval rate, approved count), their account (locale, adult)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.mturk.models import HITType
from apps.mturk.requirements import ADULT, APPROVAL_RATE, APPROVED_COUNT, LOCALE, MASTERS
from apps.mturk.workers import worker_id_of
from apps.tasks.errors import NotQualified
from apps.tasks.selectors.assignments import project_get_open_for_claim
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.accounts import user_locale_set
from tests import factories
from tests.helpers.paid import make_paid_project
from tests.helpers.web import client_for

# Their requesters paid in: HITs are created against the balance (conftest.funded).
pytestmark = pytest.mark.usefixtures("funded")

HIT_TYPE = {
    "Title": "Is there a cat in the picture?",
    "Description": "Look at one picture and answer yes or no.",
    "Reward": "0.05",
    "AssignmentDurationInSeconds": 600,
}
EXTERNAL = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">'
    "<ExternalURL>https://tasks.example.org/cat</ExternalURL>"
    "<FrameHeight>600</FrameHeight></ExternalQuestion>"
)
QUAL_TYPE = {
    "Name": "Knows cats",
    "Description": "Passed our cat quiz.",
    "QualificationTypeStatus": "Active",
}


def qual_type(client, **extra) -> str:
    made = client.create_qualification_type(**{**QUAL_TYPE, **extra})
    return made["QualificationType"]["QualificationTypeId"]


def requirement(type_id: str, comparator: str = "Exists", **values) -> dict:
    return {"QualificationTypeId": type_id, "Comparator": comparator, **values}


def hit_type_with(client, *requirements: dict) -> HITType:
    """A HIT type with these requirements and one HIT of it (so its project has work)."""
    hit_type_id = client.create_hit_type(**HIT_TYPE, QualificationRequirements=list(requirements))[
        "HITTypeId"
    ]
    client.create_hit_with_hit_type(
        HITTypeId=hit_type_id, LifetimeInSeconds=3600, Question=EXTERNAL, MaxAssignments=5
    )
    return HITType.objects.select_related("project").get(hit_type_id=hit_type_id)


def claims(worker, hit_type: HITType) -> bool:
    try:
        return assignment_claim(worker=worker, project=hit_type.project) is not None
    except NotQualified:
        return False


def error_of(raised) -> tuple[str, str]:
    response = raised.value.response
    return response.get("TurkErrorCode"), response["Error"]["Message"]


# --- Stored and shown ----------------------------------------------------------------------------


def test_the_requirements_are_stored_and_shown_on_the_hit(owner_client):
    type_id = qual_type(owner_client)
    wanted = [
        requirement(type_id, "GreaterThanOrEqualTo", IntegerValues=[80]),
        requirement(
            LOCALE,
            "In",
            LocaleValues=[{"Country": "US", "Subdivision": "WA"}, {"Country": "CA"}],
            ActionsGuarded="DiscoverPreviewAndAccept",
        ),
        requirement(APPROVAL_RATE, "GreaterThan", IntegerValues=[95], RequiredToPreview=True),
    ]
    hit_type_id = owner_client.create_hit_type(**HIT_TYPE, QualificationRequirements=wanted)[
        "HITTypeId"
    ]
    hit = owner_client.create_hit_with_hit_type(
        HITTypeId=hit_type_id, LifetimeInSeconds=3600, Question=EXTERNAL
    )["HIT"]

    assert hit["QualificationRequirements"] == [
        {**wanted[0], "ActionsGuarded": "Accept"},
        wanted[1],
        {
            "QualificationTypeId": APPROVAL_RATE,
            "Comparator": "GreaterThan",
            "IntegerValues": [95],
            "ActionsGuarded": "PreviewAndAccept",
        },
    ]
    assert (
        owner_client.get_hit(HITId=hit["HITId"])["HIT"]["QualificationRequirements"]
        == (hit["QualificationRequirements"])
    )
    assert HITType.objects.get(hit_type_id=hit_type_id).hides_from_unqualified


def test_the_requirements_are_part_of_the_hit_types_values(owner_client):
    type_id = qual_type(owner_client)
    plain = owner_client.create_hit_type(**HIT_TYPE)["HITTypeId"]
    guarded = owner_client.create_hit_type(
        **HIT_TYPE, QualificationRequirements=[requirement(type_id)]
    )["HITTypeId"]

    assert guarded != plain
    again = owner_client.create_hit_type(
        **HIT_TYPE, QualificationRequirements=[requirement(type_id)]
    )
    assert again["HITTypeId"] == guarded
    assert owner_client.create_hit_type(**HIT_TYPE)["HITTypeId"] == plain
    assert HITType.objects.get(hit_type_id=plain).qualification_requirements == []


def test_create_hit_takes_requirements_for_its_inline_type(owner_client):
    type_id = qual_type(owner_client)
    hit = owner_client.create_hit(
        **HIT_TYPE,
        LifetimeInSeconds=3600,
        Question=EXTERNAL,
        QualificationRequirements=[requirement(type_id, "EqualTo", IntegerValues=[1])],
    )["HIT"]
    assert hit["QualificationRequirements"][0]["QualificationTypeId"] == type_id
    assert HITType.objects.get(hit_type_id=hit["HITTypeId"]).qualification_requirements


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (requirement(APPROVED_COUNT, "GreaterThan"), "exactly one of IntegerValues"),
        (requirement(LOCALE, "LessThan", LocaleValues=[{"Country": "US"}]), "compares with"),
        (requirement(LOCALE, "EqualTo", LocaleValues=[{"Country": "ZZ"}]), "no ISO 3166"),
        (requirement(MASTERS), "Masters"),
    ],
)
def test_mturks_rules_refuse_naming_the_requirement(owner_client, bad, message):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_hit_type(
            **HIT_TYPE,
            QualificationRequirements=[requirement(ADULT, "EqualTo", IntegerValues=[1]), bad],
        )
    turk_code, text = error_of(raised)
    assert turk_code == "AWS.ParameterOutOfRange"
    assert text.startswith("QualificationRequirements[1]") and message in text
    assert not HITType.objects.exists()


def test_another_requesters_deleted_or_inactive_types_cannot_be_required(
    owner_client, outsider_client
):
    theirs = qual_type(outsider_client)
    deleted = qual_type(owner_client, Name="Old")
    owner_client.delete_qualification_type(QualificationTypeId=deleted)
    inactive = qual_type(owner_client, Name="Paused", QualificationTypeStatus="Inactive")

    for type_id in (theirs, deleted):
        with pytest.raises(owner_client.exceptions.RequestError) as raised:
            owner_client.create_hit_type(
                **HIT_TYPE, QualificationRequirements=[requirement(type_id)]
            )
        assert error_of(raised) == (
            "AWS.MechanicalTurk.QualificationTypeDoesNotExist",
            f"QualificationType [{type_id}] does not exist.",
        )
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_hit_type(**HIT_TYPE, QualificationRequirements=[requirement(inactive)])
    assert "is Inactive" in error_of(raised)[1]
    assert not HITType.objects.exists()


# --- Enforced ------------------------------------------------------------------------------------


def test_only_workers_holding_my_qualification_get_a_task(owner_client, worker, other_worker):
    type_id = qual_type(owner_client)
    hit_type = hit_type_with(
        owner_client, requirement(type_id, "GreaterThanOrEqualTo", IntegerValues=[80])
    )
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id_of(worker), IntegerValue=90
    )
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id_of(other_worker), IntegerValue=70
    )

    assert claims(worker, hit_type)
    with pytest.raises(NotQualified, match=r"require \(Knows cats\)"):
        assignment_claim(worker=other_worker, project=hit_type.project)


def test_a_revoked_qualification_stops_new_tasks_but_not_the_one_taken(owner_client, worker):
    type_id = qual_type(owner_client)
    hit_type = hit_type_with(owner_client, requirement(type_id))
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id_of(worker), SendNotification=False
    )
    taken = assignment_claim(worker=worker, project=hit_type.project)

    owner_client.disassociate_qualification_from_worker(
        QualificationTypeId=type_id, WorkerId=worker_id_of(worker)
    )

    assert assignment_claim(worker=worker, project=hit_type.project) == taken
    taken.delete()  # without the lease, the next claim is a new task: refused
    assert not claims(worker, hit_type)


def test_does_not_exist_keeps_out_the_workers_who_hold_it(owner_client, worker, other_worker):
    done_before = qual_type(owner_client, Name="Took part")
    hit_type = hit_type_with(owner_client, requirement(done_before, "DoesNotExist"))
    factories.WorkerQualificationFactory(qualification_type_id=_type_pk(done_before), worker=worker)
    assert not claims(worker, hit_type)
    assert claims(other_worker, hit_type)


def _type_pk(type_id: str) -> int:
    from apps.mturk.models import QualificationType

    return QualificationType.objects.get(qualification_type_id=type_id).pk


def test_an_auto_granted_type_counts_as_held_until_revoked(owner_client, worker):
    type_id = qual_type(owner_client, AutoGranted=True, AutoGrantedValue=7)
    hit_type = hit_type_with(owner_client, requirement(type_id, "EqualTo", IntegerValues=[7]))
    assert claims(worker, hit_type)

    other = factories.WorkerFactory()
    factories.WorkerQualificationFactory(
        qualification_type_id=_type_pk(type_id), worker=other, status="Revoked"
    )
    assert not claims(other, hit_type)


def test_the_locale_comes_from_the_workers_account(owner_client, worker, other_worker):
    hit_type = hit_type_with(
        owner_client, requirement(LOCALE, "EqualTo", LocaleValues=[{"Country": "US"}])
    )
    user_locale_set(user=worker, country="US", subdivision="WA")
    user_locale_set(user=other_worker, country="FR")
    stranger = factories.WorkerFactory()  # has not said where they are

    assert claims(worker, hit_type)
    assert not claims(other_worker, hit_type)
    assert not claims(stranger, hit_type)


def test_the_adult_qualification_is_the_workers_own_consent(owner_client, worker, other_worker):
    hit_type = hit_type_with(owner_client, requirement(ADULT, "EqualTo", IntegerValues=[1]))
    user_locale_set(user=worker, country="", adult_content=True)
    assert claims(worker, hit_type)
    assert not claims(other_worker, hit_type)


def test_the_approval_figures_come_from_the_workers_mturk_assignments(
    owner_client, worker, other_worker
):
    hit_type = hit_type_with(
        owner_client,
        requirement(APPROVAL_RATE, "GreaterThanOrEqualTo", IntegerValues=[75]),
        requirement(APPROVED_COUNT, "GreaterThanOrEqualTo", IntegerValues=[2]),
    )
    elsewhere = factories.MturkHITFactory()  # another requester's HIT: it counts too
    statuses = {
        worker: ["Approved"] * 3 + ["Submitted"],
        other_worker: ["Approved"] * 2 + ["Rejected"],
    }
    for who, decided in statuses.items():
        for status in decided:
            factories.MturkAssignmentFactory(
                mturk_hit=factories.MturkHITFactory(hit_type=elsewhere.hit_type),
                task_assignment__worker=who,
                status=status,
            )
    newcomer = factories.WorkerFactory()  # rate 100 with nothing decided, but 0 approved

    assert claims(worker, hit_type)  # 3 of 3 decided: 100%, the Submitted one not counted
    assert not claims(other_worker, hit_type)  # 2 of 3: 66%
    assert not claims(newcomer, hit_type)


def test_discover_guarded_types_are_hidden_from_those_who_do_not_qualify(
    owner_client, worker, other_worker, api_client_for
):
    type_id = qual_type(owner_client)
    hidden = hit_type_with(
        owner_client, requirement(type_id, ActionsGuarded="DiscoverPreviewAndAccept")
    )
    shown = hit_type_with(owner_client, requirement(type_id, ActionsGuarded="Accept"))
    owner_client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=worker_id_of(worker), SendNotification=False
    )

    def listed(who) -> set[int]:
        rows = api_client_for(who).get("/api/v1/work/projects/").json()["results"]
        return {row["id"] for row in rows}

    assert {hidden.project_id, shown.project_id} <= listed(worker)
    assert shown.project_id in listed(other_worker)
    assert hidden.project_id not in listed(other_worker)
    page = client_for(other_worker).get(reverse("worker-task", args=[hidden.project_id]))
    assert page.status_code == 404
    assert not claims(other_worker, shown)  # listed, but Accept is guarded


def test_the_claims_project_statement_stays_one_query_for_both_kinds(
    owner_client, requester, worker, django_assert_num_queries
):
    native = make_paid_project(requester)
    hit_type = hit_type_with(owner_client, requirement(qual_type(owner_client)))

    with django_assert_num_queries(1):
        native_context = project_get_open_for_claim(worker=worker, project_id=native.pk)
    with django_assert_num_queries(1):
        mturk_context = project_get_open_for_claim(worker=worker, project_id=hit_type.project_id)

    assert native_context.requirements == ()
    assert [r.type_id for r in mturk_context.requirements] == [
        hit_type.qualification_requirements[0]["QualificationTypeId"]
    ]
