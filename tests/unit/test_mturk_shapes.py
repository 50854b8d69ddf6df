"""apps/mturk/shapes.py: the shipped copy of botocore's model, and the validator on it."""

from __future__ import annotations

import pytest

from apps.mturk import shapes
from apps.mturk.operations import OPERATIONS
from tests.helpers.mturk import botocore_model


def without_documentation(value):
    if isinstance(value, dict):
        return {
            k: without_documentation(v)
            for k, v in value.items()
            if k not in ("documentation", "documentationUrl", "deprecatedMessage")
        }
    if isinstance(value, list):
        return [without_documentation(v) for v in value]
    return value


def test_the_shipped_model_is_botocores_without_its_documentation() -> None:
    # Fails after a boto3 upgrade that changed the model: regenerate service-2.json
    # (docs/mturk.md says how) and read what changed.
    ours = shapes.service_model()
    theirs = without_documentation(botocore_model())
    for part in ("metadata", "operations", "shapes"):
        assert ours[part] == theirs[part], part


def test_every_operation_in_the_dispatch_table_is_an_mturk_operation() -> None:
    assert set(OPERATIONS) <= shapes.operation_names()


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        ({"AvailableBalance": "12.50", "OnHoldBalance": "0.00"}, []),
        ({"AvailableBalance": "12.505"}, ["AvailableBalance: must match"]),
        ({"AvailableBalance": "-1.00"}, ["AvailableBalance: must match"]),
        ({"AvailableBalance": 12.5}, ["AvailableBalance: must be a string, not float"]),
        ({"Balance": "1"}, ["Balance: is not a member of this shape"]),
    ],
)
def test_a_response_is_checked_against_its_output_shape(value, problems) -> None:
    found = [str(p) for p in shapes.validate(value, "GetAccountBalanceResponse")]
    assert len(found) == len(problems)
    for text, expected in zip(found, problems, strict=True):
        assert text.startswith(expected)


def test_required_members_lengths_ranges_enums_and_timestamps_are_checked() -> None:
    value = {
        "Title": "t",
        "Description": "d",
        "Reward": "0.10",
        "MaxResults": 5,
        "QualificationRequirements": [{"QualificationTypeId": "", "Comparator": "Near"}],
    }
    found = {str(p).split(":")[0] for p in shapes.validate(value, "CreateHITTypeRequest")}
    assert found == {
        "AssignmentDurationInSeconds",  # required, missing
        "MaxResults",  # not a member
        "QualificationRequirements[0].Comparator",  # not in the enum
    }
    assert [p.missing for p in shapes.validate({}, "GetHITRequest")] == [True]
    short = [str(p) for p in shapes.validate({"HITId": ""}, "GetHITRequest")]
    assert short == [
        "HITId: must have at least 1 characters, has 0",
        "HITId: must match ^[A-Z0-9]+$, not ''",
    ]
    hit = {"HITId": "A", "CreationTime": "2026-01-01"}
    assert [str(p) for p in shapes.validate(hit, "HIT")] == [
        "CreationTime: must be epoch seconds (a number), not str"
    ]
    assert shapes.validate({"HITId": "A", "CreationTime": 1767225600.5}, "HIT") == []


def test_booleans_are_not_numbers_and_numbers_are_not_booleans() -> None:
    assert shapes.validate({"MaxResults": True}, "ListHITsRequest")
    assert shapes.validate({"MaxResults": 101}, "ListHITsRequest")
    assert shapes.validate({"MaxResults": 100}, "ListHITsRequest") == []
    assert shapes.validate({"SendNotification": 1, "Reason": "r"}, "DeleteWorkerBlockRequest")
