"""GetAccountBalance: the requester's prepaid funds, from the ledger."""

from __future__ import annotations

from typing import Any

from apps.mturk.operations.call import Call
from apps.mturk.operations.wire import currency, currency_up
from apps.workers.selectors import requester_balance


def get_account_balance(call: Call) -> dict[str, Any]:
    """AvailableBalance: deposits less spend less what live leases hold (apps/workers/
    selectors.py, Balance), shown as 0.00 when negative (the shape has no sign);
    OnHoldBalance: the reward of the requester's live leases."""
    balance = requester_balance(requester=call.requester)
    return {
        "AvailableBalance": currency(balance.available),
        "OnHoldBalance": currency_up(balance.on_hold),
    }
