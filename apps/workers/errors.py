"""The workers app's refusals (hitlcrowd/errors.py maps their kinds to HTTP statuses)."""

from __future__ import annotations

from hitlcrowd.errors import Conflict, Gone


class BudgetSpent(Conflict):
    code = "budget_spent"
    default_message = "This project's budget is spent; it serves no more tasks."


class EmailLinkInvalid(Gone):
    code = "email_link_invalid"
    default_message = (
        "This link does not work: it was used already, has expired, or was copied incompletely."
    )
