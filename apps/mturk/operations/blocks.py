"""CreateWorkerBlock, DeleteWorkerBlock, ListWorkerBlocks: the requester's blocks on all their
projects, present and future (apps.workers: a Block with the requester and no project).

A block ends the worker's leases on the requester's projects and takes their answers there out
of the consensus, as every block does here; the Reason is the requester's note (the worker is
told they are blocked, not why), as on MTurk.
"""

from __future__ import annotations

from typing import Any

from apps.mturk.operations.call import Call
from apps.mturk.pagination import paginate
from apps.mturk.workers import worker_for_id, worker_id_loaded
from apps.workers.ledger import clean_reason
from apps.workers.selectors import requester_blocks
from apps.workers.services import worker_block_for_requester, worker_unblock
from hitlcrowd.errors import Conflict

# MTurk's limit: "You can block up to 100,000 Workers."
BLOCKS_MAX = 100_000


def create_worker_block(call: Call) -> dict[str, Any]:
    """Blocking a blocked worker again succeeds and keeps the first block and its Reason."""
    reason = clean_reason(call.params["Reason"], required="Must not be empty.", field="Reason")
    worker = worker_for_id(call.params["WorkerId"])
    blocks = requester_blocks(requester=call.requester)
    if not blocks.filter(worker=worker).exists() and blocks.count() >= BLOCKS_MAX:
        raise Conflict(f"You can block up to {BLOCKS_MAX:,} Workers: unblock one first.")
    worker_block_for_requester(worker=worker, requester=call.requester, reason=reason)
    return {}


def delete_worker_block(call: Call) -> dict[str, Any]:
    """Unblocking a worker who is not blocked succeeds (MTurk's rule). The Reason goes to the
    audit trail."""
    reason = clean_reason(call.params.get("Reason", ""), field="Reason")
    worker = worker_for_id(call.params["WorkerId"])
    block = requester_blocks(requester=call.requester).filter(worker=worker).first()
    if block is not None:
        worker_unblock(block=block, by=call.requester, reason=reason)
    return {}


def list_worker_blocks(call: Call) -> dict[str, Any]:
    blocks = requester_blocks(requester=call.requester).select_related("worker__mturk_worker")
    page = paginate(
        blocks,
        params=call.params,
        operation="ListWorkerBlocks",
        requester_id=call.requester.pk,
    )
    return page.output(
        "WorkerBlocks",
        lambda block: {"WorkerId": worker_id_loaded(block.worker), "Reason": block.reason},
    )
