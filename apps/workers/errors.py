"""The workers app's refusals (hitlcrowd/errors.py maps their kinds to HTTP statuses)."""

from __future__ import annotations

from hitlcrowd.errors import Conflict


class BudgetSpent(Conflict):
    code = "budget_spent"
    default_message = "This project's budget is spent; it serves no more tasks."
