"""MTurk's qualification requirements as plain Python: the system qualification types, the
check of a HIT type's QualificationRequirements against MTurk's rules, and whether a worker
meets them for an action (see, preview, accept). No Django: the services gather what the
platform knows of a worker (`WorkerFacts`) and ask here.

MTurk's rules, from its API reference (QualificationRequirement):
- a comparator compares the worker's value of the type: LessThan, LessThanOrEqualTo,
  GreaterThan, GreaterThanOrEqualTo, EqualTo and NotEqualTo one IntegerValue; In and NotIn a
  set of up to 15 IntegerValues; Exists and DoesNotExist take no value;
- the locale type (Worker_Locale) takes LocaleValues instead, with EqualTo or NotEqualTo (one)
  or In or NotIn (up to 30): a country, or a country and a subdivision;
- a worker without a value of the type meets only DoesNotExist (every other comparator needs a
  value to compare);
- ActionsGuarded says what a failed requirement stops: Accept (the worker still sees and
  previews the HIT), PreviewAndAccept (still sees it listed), DiscoverPreviewAndAccept (the HIT
  is hidden); a worker may do an action when they meet every requirement guarding it. Without
  ActionsGuarded, the deprecated RequiredToPreview true means PreviewAndAccept, else Accept;
  the two may not be combined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from apps.workers.countries import COUNTRIES, SUBDIVISION

APPROVAL_RATE = "000000000000000000L0"
APPROVED_COUNT = "00000000000000000040"
LOCALE = "00000000000000000071"
ADULT = "00000000000000000060"
MASTERS = "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH"
MASTERS_SANDBOX = "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6"

INTEGER_COMPARATORS = frozenset(
    {"LessThan", "LessThanOrEqualTo", "GreaterThan", "GreaterThanOrEqualTo"}
)
ONE_VALUE = INTEGER_COMPARATORS | {"EqualTo", "NotEqualTo"}
SETS = frozenset({"In", "NotIn"})
PRESENCE = frozenset({"Exists", "DoesNotExist"})
INTEGERS_MAX = 15
LOCALES_MAX = 30
GUARDS = ("Accept", "PreviewAndAccept", "DiscoverPreviewAndAccept")


@dataclass(frozen=True)
class SystemType:
    """A qualification type of the platform's own, listed as MTurk listed its system types:
    every worker's value comes from what the platform knows of them, none is granted."""

    qualification_type_id: str
    name: str
    description: str
    keywords: str = ""
    status: str = "Active"
    is_requestable: bool = False
    auto_granted: bool = False
    auto_granted_value: int | None = None
    retry_delay_seconds: int | None = None
    created_at: datetime = datetime(2017, 1, 17, tzinfo=UTC)  # the API version's date


SYSTEM_TYPES: tuple[SystemType, ...] = (
    SystemType(
        MASTERS,
        "Masters",
        "Workers MTurk named Masters. HITLCrowd names none: no worker holds it here.",
    ),
    SystemType(
        MASTERS_SANDBOX,
        "Masters (sandbox)",
        "Masters in MTurk's sandbox. HITLCrowd names none: no worker holds it here.",
    ),
    SystemType(
        APPROVED_COUNT,
        "Worker_NumberHITsApproved",
        "The number of the worker's MTurk assignments that were approved, over every "
        "requester's HITs.",
    ),
    SystemType(
        LOCALE,
        "Worker_Locale",
        "Where the worker says they are (their account page): an ISO 3166 country and "
        "optionally a subdivision.",
    ),
    SystemType(
        ADULT,
        "Worker_Adult",
        "1 when the worker agreed to see adult content (their account page), else 0.",
    ),
    SystemType(
        APPROVAL_RATE,
        "Worker_PercentAssignmentsApproved",
        "The percentage of the worker's decided MTurk assignments that were approved, over "
        "every requester's HITs; 100 for a worker with none decided yet.",
    ),
)
SYSTEM_BY_ID: dict[str, SystemType] = {t.qualification_type_id: t for t in SYSTEM_TYPES}
NEVER_HELD = frozenset({MASTERS, MASTERS_SANDBOX})


class Action(IntEnum):
    """What a worker does with a HIT, from the least guarded to the most."""

    DISCOVER = 1
    PREVIEW = 2
    ACCEPT = 3


# The least action a guard stops: Accept stops accepting only, and so on.
_GUARD_FROM = {
    "Accept": Action.ACCEPT,
    "PreviewAndAccept": Action.PREVIEW,
    "DiscoverPreviewAndAccept": Action.DISCOVER,
}

Locale = tuple[str, str]  # (country, subdivision or "")


@dataclass(frozen=True)
class Requirement:
    """One QualificationRequirement, checked."""

    type_id: str
    comparator: str
    integers: tuple[int, ...] = ()
    locales: tuple[Locale, ...] = ()
    guarded: str = "Accept"

    def guards(self, action: Action) -> bool:
        return action >= _GUARD_FROM[self.guarded]

    def as_wire(self) -> dict[str, Any]:
        """As MTurk's QualificationRequirement shape (a HIT's, a HIT type's)."""
        out: dict[str, Any] = {"QualificationTypeId": self.type_id, "Comparator": self.comparator}
        if self.integers:
            out["IntegerValues"] = list(self.integers)
        if self.locales:
            out["LocaleValues"] = [
                {"Country": country, **({"Subdivision": sub} if sub else {})}
                for country, sub in self.locales
            ]
        out["ActionsGuarded"] = self.guarded
        return out


class RequirementError(ValueError):
    """A requirement MTurk's rules refuse: `where` names it (QualificationRequirements[2])."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


def parse_requirements(raw: Sequence[Mapping[str, Any]]) -> list[Requirement]:
    """The QualificationRequirements of a request (already of MTurk's shape), checked against
    MTurk's rules; RequirementError names the first one refused. The qualification types
    themselves (do they exist, are they the caller's) are the service's to check."""
    return [_parse(item, f"QualificationRequirements[{i}]") for i, item in enumerate(raw)]


def _parse(item: Mapping[str, Any], where: str) -> Requirement:
    type_id, comparator = item["QualificationTypeId"], item["Comparator"]
    integers = tuple(item.get("IntegerValues") or ())
    locales = tuple(_locale(v, f"{where}.LocaleValues") for v in item.get("LocaleValues") or ())
    if "ActionsGuarded" in item and "RequiredToPreview" in item:
        raise RequirementError(where, "Give ActionsGuarded or RequiredToPreview, not both.")
    guarded = item.get("ActionsGuarded") or (
        "PreviewAndAccept" if item.get("RequiredToPreview") else "Accept"
    )
    if type_id in NEVER_HELD and comparator != "DoesNotExist":
        raise RequirementError(
            where,
            "No worker holds a Masters qualification on this server: this requirement would "
            "keep every worker out. Leave it out.",
        )
    _check_values(where, type_id, comparator, integers, locales)
    return Requirement(type_id, comparator, integers, locales, guarded)


def _check_values(
    where: str,
    type_id: str,
    comparator: str,
    integers: tuple[int, ...],
    locales: tuple[Locale, ...],
) -> None:
    if comparator in PRESENCE:
        if integers or locales:
            raise RequirementError(where, f"{comparator} takes no IntegerValues or LocaleValues.")
        return
    if type_id == LOCALE:
        if integers:
            raise RequirementError(where, "Worker_Locale takes LocaleValues, not IntegerValues.")
        if comparator in INTEGER_COMPARATORS:
            raise RequirementError(
                where, "Worker_Locale compares with EqualTo, NotEqualTo, In or NotIn."
            )
        _count(where, "LocaleValues", len(locales), comparator, LOCALES_MAX)
        return
    if locales:
        raise RequirementError(where, "Only Worker_Locale takes LocaleValues.")
    _count(where, "IntegerValues", len(integers), comparator, INTEGERS_MAX)


def _count(where: str, name: str, n: int, comparator: str, most: int) -> None:
    if comparator in SETS and not 1 <= n <= most:
        raise RequirementError(where, f"{comparator} takes 1 to {most} {name}, not {n}.")
    if comparator in ONE_VALUE and n != 1:
        raise RequirementError(where, f"{comparator} takes exactly one of {name}, not {n}.")


def _locale(value: Mapping[str, Any], where: str) -> Locale:
    country = value["Country"]
    subdivision = value.get("Subdivision") or ""
    if country not in COUNTRIES:
        raise RequirementError(where, f"{country!r} is no ISO 3166 country code.")
    if subdivision and not SUBDIVISION.fullmatch(subdivision):
        raise RequirementError(
            where, f"{subdivision!r} is no ISO 3166-2 subdivision code (without the country)."
        )
    return country, subdivision


def requirements_from_wire(stored: Iterable[Mapping[str, Any]]) -> list[Requirement]:
    """Requirements stored as `Requirement.as_wire` wrote them (checked when stored)."""
    return parse_requirements(list(stored))


# --- A worker against requirements -------------------------------------------------------------


@dataclass(frozen=True)
class WorkerFacts:
    """What the platform knows of a worker, for the types some requirements name: their
    integer values by type id (granted qualifications, and the system types' values), and
    their locale (None when they have not said)."""

    values: Mapping[str, int] = field(default_factory=dict)
    locale: Locale | None = None


def meets(requirement: Requirement, facts: WorkerFacts) -> bool:
    """Whether the worker's value of the requirement's type passes its comparator."""
    if requirement.type_id == LOCALE:
        return _meets_locale(requirement, facts.locale)
    value = facts.values.get(requirement.type_id)
    comparator = requirement.comparator
    if comparator == "DoesNotExist":
        return value is None
    if value is None:
        return False
    if comparator == "Exists":
        return True
    if comparator in SETS:
        return (value in requirement.integers) == (comparator == "In")
    return _compare(value, comparator, requirement.integers[0])


def _compare(value: int, comparator: str, other: int) -> bool:
    return {
        "LessThan": value < other,
        "LessThanOrEqualTo": value <= other,
        "GreaterThan": value > other,
        "GreaterThanOrEqualTo": value >= other,
        "EqualTo": value == other,
        "NotEqualTo": value != other,
    }[comparator]


def _meets_locale(requirement: Requirement, locale: Locale | None) -> bool:
    comparator = requirement.comparator
    if comparator == "DoesNotExist":
        return locale is None
    if locale is None:
        return False
    if comparator == "Exists":
        return True
    matched = any(_locale_matches(wanted, locale) for wanted in requirement.locales)
    return matched if comparator in ("EqualTo", "In") else not matched


def _locale_matches(wanted: Locale, locale: Locale) -> bool:
    """A country alone matches every subdivision of it; a subdivision only itself."""
    country, subdivision = wanted
    return locale[0] == country and (not subdivision or locale[1] == subdivision)


def first_unmet(
    requirements: Sequence[Requirement], facts: WorkerFacts, action: Action
) -> Requirement | None:
    """The first requirement guarding `action` that the worker does not meet; None: they may."""
    return next(
        (r for r in requirements if r.guards(action) and not meets(r, facts)),
        None,
    )


def type_ids_needed(requirements: Iterable[Requirement]) -> set[str]:
    """The qualification types whose values the requirements compare."""
    return {r.type_id for r in requirements}


def approval_rate(approved: int, rejected: int) -> int:
    """Worker_PercentAssignmentsApproved: approved over decided, in whole percent rounded down
    (a rate at or above a threshold is never overstated); 100 with nothing decided yet."""
    decided = approved + rejected
    return 100 if decided == 0 else approved * 100 // decided
