"""Qualification types through boto3 (issue 17 #2): create, get, update, delete and list them,
with MTurk's rules (a name unique among mine, Name and Keywords fixed, deleted ones gone and
their names free), the system types listed as MTurk listed them, and another requester's
types out of sight."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from apps.mturk.models import QualificationType
from apps.mturk.requirements import APPROVAL_RATE, LOCALE, MASTERS, SYSTEM_TYPES

TYPE = {
    "Name": "Knows birds",
    "Description": "Passed our bird quiz.",
    "Keywords": "birds, quiz",
    "QualificationTypeStatus": "Active",
}
SYSTEM_IDS = [t.qualification_type_id for t in SYSTEM_TYPES]


def error_of(raised) -> tuple[str, str]:
    response = raised.value.response
    return response.get("TurkErrorCode"), response["Error"]["Message"]


def test_a_type_is_created_and_read_back_as_created(owner_client, requester):
    made = owner_client.create_qualification_type(**TYPE, RetryDelayInSeconds=3600)
    qualification_type = made["QualificationType"]

    assert re.fullmatch(r"[A-Z0-9]{30}", qualification_type["QualificationTypeId"])
    assert isinstance(qualification_type["CreationTime"], datetime)
    expected = {
        "Name": "Knows birds",
        "Description": "Passed our bird quiz.",
        "Keywords": "birds, quiz",
        "QualificationTypeStatus": "Active",
        "IsRequestable": True,
        "AutoGranted": False,
        "RetryDelayInSeconds": 3600,
    }
    assert {k: qualification_type[k] for k in expected} == expected
    got = owner_client.get_qualification_type(
        QualificationTypeId=qualification_type["QualificationTypeId"]
    )
    assert got["QualificationType"] == qualification_type
    assert QualificationType.objects.get().requester == requester


def test_auto_granted_types_carry_their_value_one_by_default(owner_client):
    made = owner_client.create_qualification_type(**TYPE, AutoGranted=True)["QualificationType"]
    assert (made["AutoGranted"], made["AutoGrantedValue"]) == (True, 1)


def test_a_second_type_with_my_name_is_refused_as_on_mturk(owner_client, outsider_client):
    owner_client.create_qualification_type(**TYPE)
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_qualification_type(**{**TYPE, "Description": "Another"})
    turk_code, message = error_of(raised)
    assert turk_code == "AWS.MechanicalTurk.QualificationTypeAlreadyExists"
    assert message.startswith("You have already created a QualificationType with this name.")
    # Another requester's name is theirs to use.
    outsider_client.create_qualification_type(**TYPE)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"Name": "   "}, "Name"),
        ({"Name": "x" * 201}, "Name"),
        ({"Description": ""}, "Description"),
        ({"Description": "x" * 2001}, "Description"),
        ({"Keywords": "x" * 1001}, "Keywords"),
    ],
)
def test_a_value_out_of_range_is_refused_naming_it(owner_client, change, named):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_qualification_type(**{**TYPE, **change})
    turk_code, message = error_of(raised)
    assert message.startswith(f"{named}: ") and turk_code == "AWS.ParameterOutOfRange"
    assert not QualificationType.objects.exists()


def test_qualification_tests_are_refused_until_they_are_built(owner_client):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.create_qualification_type(
            **TYPE, Test="<QuestionForm/>", TestDurationInSeconds=60
        )
    turk_code, message = error_of(raised)
    assert turk_code == "AWS.MechanicalTurk.UnsupportedOperation"
    assert message.startswith("Test, TestDurationInSeconds: qualification tests")


def test_an_update_changes_what_mturk_lets_change(owner_client):
    made = owner_client.create_qualification_type(**TYPE)["QualificationType"]
    type_id = made["QualificationTypeId"]

    updated = owner_client.update_qualification_type(
        QualificationTypeId=type_id,
        Description="Passed the new quiz.",
        QualificationTypeStatus="Inactive",
        AutoGranted=True,
        AutoGrantedValue=5,
    )["QualificationType"]

    assert updated["Description"] == "Passed the new quiz."
    assert updated["QualificationTypeStatus"] == "Inactive"
    assert (updated["AutoGranted"], updated["AutoGrantedValue"]) == (True, 5)
    assert (updated["Name"], updated["Keywords"]) == (TYPE["Name"], TYPE["Keywords"])
    assert (
        owner_client.get_qualification_type(QualificationTypeId=type_id)["QualificationType"]
        == updated
    )


def test_a_deleted_type_is_gone_and_its_name_free(owner_client):
    made = owner_client.create_qualification_type(**TYPE)["QualificationType"]
    type_id = made["QualificationTypeId"]

    owner_client.delete_qualification_type(QualificationTypeId=type_id)

    for call in (owner_client.get_qualification_type, owner_client.delete_qualification_type):
        with pytest.raises(owner_client.exceptions.RequestError) as raised:
            call(QualificationTypeId=type_id)
        assert error_of(raised) == (
            "AWS.MechanicalTurk.QualificationTypeDoesNotExist",
            f"QualificationType [{type_id}] does not exist.",
        )
    again = owner_client.create_qualification_type(**TYPE)["QualificationType"]
    assert again["QualificationTypeId"] != type_id
    listed = owner_client.list_qualification_types(MustBeRequestable=True)
    assert [t["QualificationTypeId"] for t in listed["QualificationTypes"]] == [
        again["QualificationTypeId"]
    ]


def test_the_system_types_are_listed_first_and_read_by_anyone(owner_client):
    mine = owner_client.create_qualification_type(**TYPE)["QualificationType"]

    listed = owner_client.list_qualification_types(MustBeRequestable=False)

    ids = [t["QualificationTypeId"] for t in listed["QualificationTypes"]]
    assert ids == [*SYSTEM_IDS, mine["QualificationTypeId"]]
    by_id = {t["QualificationTypeId"]: t for t in listed["QualificationTypes"]}
    assert by_id[APPROVAL_RATE]["Name"] == "Worker_PercentAssignmentsApproved"
    assert by_id[LOCALE]["IsRequestable"] is False
    got = owner_client.get_qualification_type(QualificationTypeId=MASTERS)["QualificationType"]
    assert got["Name"] == "Masters"


def test_requestable_or_mine_only_leaves_the_system_types_out(owner_client):
    mine = owner_client.create_qualification_type(**TYPE)["QualificationType"]
    for listed in (
        owner_client.list_qualification_types(MustBeRequestable=True),
        owner_client.list_qualification_types(MustBeRequestable=False, MustBeOwnedByCaller=True),
    ):
        assert [t["QualificationTypeId"] for t in listed["QualificationTypes"]] == [
            mine["QualificationTypeId"]
        ]


def test_a_query_matches_name_description_or_keywords(owner_client):
    owner_client.create_qualification_type(**TYPE)
    owner_client.create_qualification_type(
        Name="Fluent in Welsh", Description="Native speaker", QualificationTypeStatus="Active"
    )

    def names(query: str) -> list[str]:
        listed = owner_client.list_qualification_types(MustBeRequestable=False, Query=query)
        return [t["Name"] for t in listed["QualificationTypes"]]

    assert names("BIRD") == ["Knows birds"]
    assert names("native") == ["Fluent in Welsh"]
    assert names("quiz") == ["Knows birds"]
    assert names("locale") == ["Worker_Locale"]


def test_boto3s_paginator_walks_system_and_own_types_once(owner_client):
    made = [
        owner_client.create_qualification_type(**{**TYPE, "Name": f"Type {n}"})[
            "QualificationType"
        ]["QualificationTypeId"]
        for n in range(4)
    ]

    pages = list(
        owner_client.get_paginator("list_qualification_types").paginate(
            MustBeRequestable=False, PaginationConfig={"PageSize": 4}
        )
    )

    assert [page["NumResults"] for page in pages] == [4, 4, 2]
    walked = [t["QualificationTypeId"] for page in pages for t in page["QualificationTypes"]]
    assert walked == [*SYSTEM_IDS, *made]


def test_another_requester_can_neither_see_nor_change_my_types(owner_client, outsider_client):
    mine = owner_client.create_qualification_type(**TYPE)["QualificationType"]
    type_id = mine["QualificationTypeId"]

    for call, extra in (
        (outsider_client.get_qualification_type, {}),
        (outsider_client.update_qualification_type, {"Description": "Mine now"}),
        (outsider_client.delete_qualification_type, {}),
    ):
        with pytest.raises(outsider_client.exceptions.RequestError) as raised:
            call(QualificationTypeId=type_id, **extra)
        assert error_of(raised)[0] == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    theirs = outsider_client.list_qualification_types(MustBeRequestable=False, Query="birds")
    assert theirs["QualificationTypes"] == []
    assert (
        owner_client.get_qualification_type(QualificationTypeId=type_id)["QualificationType"]
        == mine
    )


def test_system_types_cannot_be_changed(owner_client):
    with pytest.raises(owner_client.exceptions.RequestError) as raised:
        owner_client.update_qualification_type(QualificationTypeId=LOCALE, Description="x")
    assert error_of(raised)[0] == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
