"""Qualification types and workers' qualifications: CreateQualificationType,
GetQualificationType, UpdateQualificationType, DeleteQualificationType, ListQualificationTypes,
AssociateQualificationWithWorker, DisassociateQualificationFromWorker, GetQualificationScore,
ListWorkersWithQualificationType (apps/mturk/qualifications.py does the work)."""

from __future__ import annotations

from typing import Any

from apps.mturk.errors import request_error
from apps.mturk.models import QualificationType, WorkerQualification
from apps.mturk.operations.call import Call
from apps.mturk.operations.wire import timestamp
from apps.mturk.pagination import paginate
from apps.mturk.qualifications import (
    TypeValues,
    qualification_grant,
    qualification_holders,
    qualification_revoke,
    qualification_score,
    qualification_type_create,
    qualification_type_delete,
    qualification_type_get,
    qualification_type_read,
    qualification_type_update,
    qualification_types_listed,
)
from apps.mturk.requirements import SystemType
from apps.mturk.workers import worker_for_id, worker_id_loaded

# Qualification tests are QuestionForm XML, which this server does not render yet.
TEST_PARAMETERS = ("Test", "AnswerKey", "TestDurationInSeconds")


def _refuse_tests(params: dict[str, Any]) -> None:
    given = [name for name in TEST_PARAMETERS if name in params]
    if given:
        raise request_error(
            f"{', '.join(given)}: qualification tests (QuestionForm) are not supported by this "
            "server: grant the qualification with AssociateQualificationWithWorker.",
            "AWS.MechanicalTurk.UnsupportedOperation",
        )


def render_type(qualification_type: QualificationType | SystemType) -> dict[str, Any]:
    """A QualificationType structure."""
    t = qualification_type
    out: dict[str, Any] = {
        "QualificationTypeId": t.qualification_type_id,
        "CreationTime": timestamp(t.created_at),
        "Name": t.name,
        "Description": t.description,
        "QualificationTypeStatus": t.status,
        "IsRequestable": t.is_requestable,
        "AutoGranted": t.auto_granted,
    }
    if t.keywords:
        out["Keywords"] = t.keywords
    if t.auto_granted_value is not None:
        out["AutoGrantedValue"] = t.auto_granted_value
    if t.retry_delay_seconds is not None:
        out["RetryDelayInSeconds"] = t.retry_delay_seconds
    return out


def render_qualification(grant: WorkerQualification) -> dict[str, Any]:
    """A Qualification structure (the grant loaded with its type and the worker's id)."""
    return {
        "QualificationTypeId": grant.qualification_type.qualification_type_id,
        "WorkerId": worker_id_loaded(grant.worker),
        "GrantTime": timestamp(grant.granted_at),
        "IntegerValue": grant.integer_value,
        "Status": grant.status,
    }


def create_qualification_type(call: Call) -> dict[str, Any]:
    params = call.params
    _refuse_tests(params)
    values = TypeValues(
        name=params["Name"],
        description=params["Description"],
        status=params["QualificationTypeStatus"],
        keywords=params.get("Keywords", ""),
        retry_delay_seconds=params.get("RetryDelayInSeconds"),
        auto_granted=params.get("AutoGranted", False),
        auto_granted_value=params.get("AutoGrantedValue"),
    )
    created = qualification_type_create(requester=call.requester, values=values)
    return {"QualificationType": render_type(created)}


def get_qualification_type(call: Call) -> dict[str, Any]:
    found = qualification_type_read(
        requester=call.requester, qualification_type_id=call.params["QualificationTypeId"]
    )
    return {"QualificationType": render_type(found)}


# UpdateQualificationType's parameters -> the model's fields.
UPDATES = {
    "Description": "description",
    "QualificationTypeStatus": "status",
    "RetryDelayInSeconds": "retry_delay_seconds",
    "AutoGranted": "auto_granted",
    "AutoGrantedValue": "auto_granted_value",
}


def update_qualification_type(call: Call) -> dict[str, Any]:
    params = call.params
    _refuse_tests(params)
    qualification_type = _mine(call)
    changes = {field: params[name] for name, field in UPDATES.items() if name in params}
    updated = qualification_type_update(qualification_type=qualification_type, changes=changes)
    return {"QualificationType": render_type(updated)}


def delete_qualification_type(call: Call) -> dict[str, Any]:
    qualification_type_delete(qualification_type=_mine(call))
    return {}


def _mine(call: Call) -> QualificationType:
    return qualification_type_get(
        requester=call.requester, qualification_type_id=call.params["QualificationTypeId"]
    )


def list_qualification_types(call: Call) -> dict[str, Any]:
    params = call.params
    filters = {
        "MustBeRequestable": params["MustBeRequestable"],
        "MustBeOwnedByCaller": params.get("MustBeOwnedByCaller", False),
        "Query": params.get("Query") or "",
    }
    system, rows = qualification_types_listed(
        requester=call.requester,
        must_be_requestable=filters["MustBeRequestable"],
        owned_only=filters["MustBeOwnedByCaller"],
        query=filters["Query"],
    )
    page = paginate(
        rows,
        params=params,
        operation="ListQualificationTypes",
        requester_id=call.requester.pk,
        filters=filters,
        head=system,
    )
    return page.output("QualificationTypes", render_type)


def associate_qualification_with_worker(call: Call) -> dict[str, Any]:
    params = call.params
    qualification_grant(
        requester=call.requester,
        qualification_type_id=params["QualificationTypeId"],
        worker=worker_for_id(params["WorkerId"]),
        value=params.get("IntegerValue", 1),
        notify=params.get("SendNotification", True),  # MTurk: true by default
    )
    return {}


def disassociate_qualification_from_worker(call: Call) -> dict[str, Any]:
    params = call.params
    qualification_revoke(
        requester=call.requester,
        qualification_type_id=params["QualificationTypeId"],
        worker=worker_for_id(params["WorkerId"]),
        reason=params.get("Reason", ""),
    )
    return {}


def get_qualification_score(call: Call) -> dict[str, Any]:
    params = call.params
    grant = qualification_score(
        requester=call.requester,
        qualification_type_id=params["QualificationTypeId"],
        worker=worker_for_id(params["WorkerId"]),
    )
    return {"Qualification": render_qualification(grant)}


def list_workers_with_qualification_type(call: Call) -> dict[str, Any]:
    params = call.params
    status = params.get("Status")
    grants = qualification_holders(
        requester=call.requester,
        qualification_type_id=params["QualificationTypeId"],
        status=status,
    )
    page = paginate(
        grants,
        params=params,
        operation="ListWorkersWithQualificationType",
        requester_id=call.requester.pk,
        filters={"QualificationTypeId": params["QualificationTypeId"], "Status": status},
    )
    return page.output("Qualifications", render_qualification)
