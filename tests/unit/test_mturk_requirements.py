"""apps/mturk/requirements.py: MTurk's QualificationRequirement rules and a worker's facts
against them, with no database."""

from __future__ import annotations

import pytest

from apps.mturk.requirements import (
    ADULT,
    APPROVAL_RATE,
    APPROVED_COUNT,
    LOCALE,
    MASTERS,
    Action,
    Requirement,
    RequirementError,
    WorkerFacts,
    approval_rate,
    first_unmet,
    meets,
    parse_requirements,
    requirements_from_wire,
)

CUSTOM = "3CUSTOMTYPE00000000000000000A"


def one(comparator: str, type_id: str = CUSTOM, **values) -> Requirement:
    raw = {"QualificationTypeId": type_id, "Comparator": comparator, **values}
    return parse_requirements([raw])[0]


@pytest.mark.parametrize(
    ("comparator", "values", "value", "expected"),
    [
        ("LessThan", [5], 4, True),
        ("LessThan", [5], 5, False),
        ("LessThanOrEqualTo", [5], 5, True),
        ("GreaterThan", [5], 5, False),
        ("GreaterThan", [5], 6, True),
        ("GreaterThanOrEqualTo", [5], 5, True),
        ("EqualTo", [5], 5, True),
        ("EqualTo", [5], 4, False),
        ("NotEqualTo", [5], 4, True),
        ("NotEqualTo", [5], 5, False),
        ("In", [1, 3, 5], 3, True),
        ("In", [1, 3, 5], 4, False),
        ("NotIn", [1, 3, 5], 4, True),
        ("NotIn", [1, 3, 5], 5, False),
    ],
)
def test_each_integer_comparator(comparator, values, value, expected):
    requirement = one(comparator, IntegerValues=values)
    assert meets(requirement, WorkerFacts(values={CUSTOM: value})) is expected


@pytest.mark.parametrize(
    "comparator",
    ["LessThan", "GreaterThan", "EqualTo", "NotEqualTo", "In", "NotIn", "Exists"],
)
def test_without_a_value_only_does_not_exist_is_met(comparator):
    values = {} if comparator == "Exists" else {"IntegerValues": [1]}
    assert not meets(one(comparator, **values), WorkerFacts())
    assert meets(one("DoesNotExist"), WorkerFacts())
    assert not meets(one("DoesNotExist"), WorkerFacts(values={CUSTOM: 0}))
    assert meets(one("Exists"), WorkerFacts(values={CUSTOM: 0}))


def test_a_country_matches_every_subdivision_and_a_subdivision_only_itself():
    us = [{"Country": "US"}]
    washington = [{"Country": "US", "Subdivision": "WA"}]
    seattle, boston, paris = ("US", "WA"), ("US", "MA"), ("FR", "")

    assert meets(one("EqualTo", LOCALE, LocaleValues=us), WorkerFacts(locale=boston))
    assert meets(one("EqualTo", LOCALE, LocaleValues=washington), WorkerFacts(locale=seattle))
    assert not meets(one("EqualTo", LOCALE, LocaleValues=washington), WorkerFacts(locale=boston))
    assert meets(one("NotEqualTo", LOCALE, LocaleValues=us), WorkerFacts(locale=paris))
    two = [{"Country": "FR"}, {"Country": "DE"}]
    assert meets(one("In", LOCALE, LocaleValues=two), WorkerFacts(locale=paris))
    assert not meets(one("NotIn", LOCALE, LocaleValues=two), WorkerFacts(locale=paris))
    # A worker who has not said where they are meets only DoesNotExist.
    assert not meets(one("NotEqualTo", LOCALE, LocaleValues=us), WorkerFacts())
    assert meets(one("DoesNotExist", LOCALE), WorkerFacts())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"Comparator": "Exists", "IntegerValues": [1]}, "Exists takes no IntegerValues"),
        ({"Comparator": "EqualTo"}, "EqualTo takes exactly one of IntegerValues, not 0"),
        ({"Comparator": "LessThan", "IntegerValues": [1, 2]}, "exactly one"),
        ({"Comparator": "In", "IntegerValues": list(range(16))}, "In takes 1 to 15"),
        ({"Comparator": "NotIn", "IntegerValues": []}, "NotIn takes 1 to 15"),
        ({"Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}, "Only Worker_Locale"),
        (
            {"Comparator": "Exists", "ActionsGuarded": "Accept", "RequiredToPreview": True},
            "not both",
        ),
    ],
)
def test_mturks_rules_refuse_naming_the_requirement(raw, message):
    with pytest.raises(RequirementError) as refused:
        parse_requirements(
            [
                {"QualificationTypeId": CUSTOM, "Comparator": "Exists"},
                {"QualificationTypeId": CUSTOM, **raw},
            ]
        )
    assert refused.value.where == "QualificationRequirements[1]"
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"Comparator": "GreaterThan", "LocaleValues": [{"Country": "US"}]}, "compares with"),
        ({"Comparator": "EqualTo", "IntegerValues": [1]}, "takes LocaleValues"),
        ({"Comparator": "EqualTo", "LocaleValues": [{"Country": "XX"}]}, "no ISO 3166 country"),
        (
            {"Comparator": "EqualTo", "LocaleValues": [{"Country": "US", "Subdivision": "US-WA"}]},
            "no ISO 3166-2 subdivision",
        ),
        (
            {"Comparator": "In", "LocaleValues": [{"Country": "US"}] * 31},
            "In takes 1 to 30 LocaleValues",
        ),
        ({"Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}] * 2}, "exactly one"),
    ],
)
def test_the_locale_rules(raw, message):
    with pytest.raises(RequirementError) as refused:
        parse_requirements([{"QualificationTypeId": LOCALE, **raw}])
    assert message in refused.value.message


def test_masters_are_refused_since_no_worker_holds_them_here():
    with pytest.raises(RequirementError, match="Masters"):
        one("Exists", MASTERS)
    assert meets(one("DoesNotExist", MASTERS), WorkerFacts())


def test_actions_guarded_say_what_a_failed_requirement_stops():
    accept = one("Exists", ActionsGuarded="Accept")
    preview = one("Exists", ActionsGuarded="PreviewAndAccept")
    hidden = one("Exists", ActionsGuarded="DiscoverPreviewAndAccept")
    stranger = WorkerFacts()

    assert first_unmet([accept], stranger, Action.DISCOVER) is None
    assert first_unmet([accept], stranger, Action.PREVIEW) is None
    assert first_unmet([accept], stranger, Action.ACCEPT) == accept
    assert first_unmet([preview], stranger, Action.DISCOVER) is None
    assert first_unmet([preview], stranger, Action.PREVIEW) == preview
    assert first_unmet([hidden], stranger, Action.DISCOVER) == hidden
    assert (
        first_unmet([accept, preview, hidden], WorkerFacts(values={CUSTOM: 1}), Action.ACCEPT)
        is None
    )


def test_without_actions_guarded_required_to_preview_guards_the_preview():
    assert one("Exists").guarded == "Accept"
    assert one("Exists", RequiredToPreview=True).guarded == "PreviewAndAccept"
    assert one("Exists", RequiredToPreview=False).guarded == "Accept"


def test_a_stored_requirement_reads_back_the_same():
    requirements = [
        one("In", LOCALE, LocaleValues=[{"Country": "US", "Subdivision": "WA"}, {"Country": "CA"}]),
        one("GreaterThanOrEqualTo", APPROVAL_RATE, IntegerValues=[95], RequiredToPreview=True),
        one("EqualTo", ADULT, IntegerValues=[1], ActionsGuarded="DiscoverPreviewAndAccept"),
        one("DoesNotExist", CUSTOM),
    ]
    assert requirements_from_wire([r.as_wire() for r in requirements]) == requirements
    assert requirements[0].as_wire()["LocaleValues"] == [
        {"Country": "US", "Subdivision": "WA"},
        {"Country": "CA"},
    ]


def test_system_values_compare_as_any_other():
    facts = WorkerFacts(values={APPROVAL_RATE: 96, APPROVED_COUNT: 40})
    assert meets(one("GreaterThanOrEqualTo", APPROVAL_RATE, IntegerValues=[95]), facts)
    assert not meets(one("GreaterThan", APPROVED_COUNT, IntegerValues=[100]), facts)


@pytest.mark.parametrize(
    ("approved", "rejected", "rate"),
    [(0, 0, 100), (10, 0, 100), (19, 1, 95), (1, 2, 33), (0, 5, 0), (199, 1, 99)],
)
def test_the_approval_rate_is_rounded_down_and_100_before_any_decision(approved, rejected, rate):
    assert approval_rate(approved, rejected) == rate
