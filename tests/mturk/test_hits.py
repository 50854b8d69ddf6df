"""CreateHIT, CreateHITWithHITType and GetHIT through boto3: a HIT is an item and a tasks.HIT
of its type's project, the request token makes a retry create nothing, the Question is
checked as MTurk's schemas did, and another requester sees none of it."""

from __future__ import annotations

import re
import time

import pytest

from apps.mturk.models import HITType, MturkHIT
from apps.tasks.models import HIT, Item, Project

# Their requesters paid in: HITs are created against the balance (conftest.funded).
pytestmark = pytest.mark.usefixtures("funded")

HIT_TYPE = {
    "Title": "Is there a cat in the picture?",
    "Description": "Look at one picture and answer yes or no.",
    "Reward": "0.05",
    "AssignmentDurationInSeconds": 600,
    "AutoApprovalDelayInSeconds": 3600,
    "Keywords": "image, cat",
}
EXTERNAL = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">'
    "<ExternalURL>https://tasks.example.org/cat?picture=7&amp;set=2</ExternalURL>"
    "<FrameHeight>600</FrameHeight></ExternalQuestion>"
)
HTML = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">'
    "<HTMLContent><![CDATA[<!DOCTYPE html><html><body><form>Cat?</form></body></html>]]>"
    "</HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"
)


@pytest.fixture
def hit_type_id(owner_client) -> str:
    return owner_client.create_hit_type(**HIT_TYPE)["HITTypeId"]


def create(client, hit_type_id: str, **extra):
    values = {"HITTypeId": hit_type_id, "LifetimeInSeconds": 3600, "Question": EXTERNAL}
    return client.create_hit_with_hit_type(**{**values, **extra})["HIT"]


def test_a_hit_is_an_item_and_a_hit_of_its_types_project(owner_client, hit_type_id, requester):
    before = time.time()
    hit = create(owner_client, hit_type_id, MaxAssignments=3, RequesterAnnotation="batch-7")

    assert re.fullmatch(r"[A-Z0-9]{30}", hit["HITId"])
    assert (hit["HITTypeId"], hit["HITGroupId"]) == (hit_type_id, hit_type_id)
    assert (hit["HITStatus"], hit["HITReviewStatus"]) == ("Assignable", "NotReviewed")
    assert hit["MaxAssignments"] == 3 and hit["NumberOfAssignmentsAvailable"] == 3
    assert hit["NumberOfAssignmentsPending"] == hit["NumberOfAssignmentsCompleted"] == 0
    assert (hit["Title"], hit["Reward"], hit["Keywords"]) == (
        HIT_TYPE["Title"],
        "0.05",
        HIT_TYPE["Keywords"],
    )
    assert hit["Question"] == EXTERNAL and hit["RequesterAnnotation"] == "batch-7"
    assert hit["QualificationRequirements"] == []
    expires = hit["Expiration"].timestamp()
    assert before + 3600 - 5 <= expires <= time.time() + 3600 + 5

    row = MturkHIT.objects.select_related("task_hit__item", "hit_type__project").get()
    project = row.hit_type.project
    assert (project.kind, project.owner, project.labels) == (Project.Kind.MTURK, requester, [])
    assert (project.name, project.lease_seconds) == (HIT_TYPE["Title"], 600)
    assert str(project.reward_per_answer) == "0.0500"
    task_hit = row.task_hit
    assert (task_hit.project, task_hit.answers_wanted, task_hit.is_gold) == (project, 3, False)
    assert task_hit.state == HIT.State.OPEN and task_hit.expires_at.timestamp() == pytest.approx(
        expires, abs=0.001
    )
    assert (task_hit.item.state, task_hit.item.external_id) == (Item.State.WAITING, row.hit_id)
    assert row.question_kind == MturkHIT.QuestionKind.EXTERNAL


def test_create_hit_makes_the_hit_type_create_hit_type_would(owner_client, hit_type_id):
    values = dict(HIT_TYPE)
    hit = owner_client.create_hit(**values, LifetimeInSeconds=600, Question=HTML)["HIT"]

    assert hit["HITTypeId"] == hit_type_id  # the same values: the same type
    other = owner_client.create_hit(
        **{**values, "Reward": "0.10"}, LifetimeInSeconds=600, Question=HTML
    )["HIT"]
    assert other["HITTypeId"] != hit_type_id and other["Reward"] == "0.10"
    assert HITType.objects.count() == Project.objects.filter(kind=Project.Kind.MTURK).count() == 2
    assert MturkHIT.objects.get(hit_id=hit["HITId"]).question_kind == MturkHIT.QuestionKind.HTML


def test_max_assignments_defaults_to_one_as_on_mturk(owner_client, hit_type_id):
    assert create(owner_client, hit_type_id)["MaxAssignments"] == 1


def test_a_repeated_request_token_creates_nothing_and_names_the_hit(owner_client, hit_type_id):
    first = create(owner_client, hit_type_id, UniqueRequestToken="job-42-row-1")

    for call in (
        lambda: create(owner_client, hit_type_id, UniqueRequestToken="job-42-row-1"),
        lambda: owner_client.create_hit(
            **HIT_TYPE, LifetimeInSeconds=60, Question=EXTERNAL, UniqueRequestToken="job-42-row-1"
        ),
    ):
        with pytest.raises(owner_client.exceptions.RequestError) as raised:
            call()
        response = raised.value.response
        assert response["TurkErrorCode"] == "AWS.MechanicalTurk.HitAlreadyExists"
        assert first["HITId"] in response["Error"]["Message"]
    assert MturkHIT.objects.count() == Item.objects.count() == 1


def test_another_requester_may_use_the_same_token(owner_client, outsider_client, hit_type_id):
    create(owner_client, hit_type_id, UniqueRequestToken="shared")
    theirs = outsider_client.create_hit_type(**HIT_TYPE)["HITTypeId"]
    create(outsider_client, theirs, UniqueRequestToken="shared")
    assert MturkHIT.objects.count() == 2


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("<QuestionForm xmlns='x'/>", "QuestionForm questions are not supported"),
        ('<!DOCTYPE q [<!ENTITY a "aaaa">]><q>&a;</q>', "must not contain a DTD"),
        ("<ExternalQuestion>", "not well-formed XML"),
        (EXTERNAL.replace("https://tasks.example.org", "http://tasks.example.org"), "https://"),
        (EXTERNAL.replace("https://tasks.example.org", "javascript:alert(1)//"), "https://"),
        (EXTERNAL.replace("<FrameHeight>600", "<FrameHeight>tall"), "FrameHeight"),
        (EXTERNAL.replace("2006-07-14", "2005-10-01"), "namespace"),
        (
            HTML.replace("<![CDATA[<!DOCTYPE html>", "<![CDATA[").replace("Cat?", "x" * 70000),
            "larger",
        ),
        (
            HTML.split("<HTMLContent>")[0]
            + "<HTMLContent><b>Cat?</b></HTMLContent></HTMLQuestion>",
            "CDATA",
        ),
    ],
)
def test_a_question_mturk_would_refuse_is_a_request_error_naming_it(
    owner_client, hit_type_id, question, says
):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        create(owner_client, hit_type_id, Question=question)
    message = raised.value.response["Error"]["Message"]
    assert message.startswith("Question: ") and says in message
    assert raised.value.response["TurkErrorCode"] == "AWS.ParameterOutOfRange"
    assert not MturkHIT.objects.exists() and not Item.objects.exists()


def test_a_local_development_page_may_be_plain_http(owner_client, hit_type_id):
    local = EXTERNAL.replace("https://tasks.example.org", "http://localhost:8000")
    assert create(owner_client, hit_type_id, Question=local)["Question"] == local


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"LifetimeInSeconds": 29}, "LifetimeInSeconds"),
        ({"LifetimeInSeconds": 365 * 24 * 3600 + 1}, "LifetimeInSeconds"),
        ({"MaxAssignments": 1_000_001}, "MaxAssignments"),
        ({"RequesterAnnotation": "x" * 256}, "RequesterAnnotation"),
    ],
)
def test_a_value_out_of_mturks_range_is_refused_by_name(owner_client, hit_type_id, change, named):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        create(owner_client, hit_type_id, **change)
    assert raised.value.response["Error"]["Message"].startswith(f"{named}: ")
    assert not MturkHIT.objects.exists()


def test_a_large_max_assignments_fits(owner_client, hit_type_id):
    assert (
        create(owner_client, hit_type_id, MaxAssignments=1_000_000)["MaxAssignments"] == 1_000_000
    )


def test_parameters_not_acted_on_are_refused_by_name(owner_client, hit_type_id):
    policy = {"PolicyName": "ScoreMyKnownAnswers/2011-09-01"}
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        create(owner_client, hit_type_id, AssignmentReviewPolicy=policy)
    assert "AssignmentReviewPolicy is not supported" in raised.value.response["Error"]["Message"]


def test_get_hit_answers_what_create_answered(owner_client, hit_type_id):
    created = create(owner_client, hit_type_id, MaxAssignments=2)
    assert owner_client.get_hit(HITId=created["HITId"])["HIT"] == created


def test_another_requesters_hits_and_types_do_not_exist_for_me(
    owner_client, outsider_client, hit_type_id
):
    mine = create(owner_client, hit_type_id)
    for call in (
        lambda: outsider_client.get_hit(HITId=mine["HITId"]),
        lambda: outsider_client.get_hit(HITId="X" * 30),
        lambda: create(outsider_client, hit_type_id),
    ):
        with pytest.raises(outsider_client.exceptions.RequestError) as raised:
            call()
        response = raised.value.response
        assert response["TurkErrorCode"] == "AWS.MechanicalTurk.ResourceDoesNotExist"
        assert "does not exist" in response["Error"]["Message"]
    assert MturkHIT.objects.count() == 1
