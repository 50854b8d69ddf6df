"""The workers app's refusals (hitlcrowd/errors.py maps their kinds to HTTP statuses)."""

from __future__ import annotations

from hitlcrowd.errors import Conflict, Forbidden, Gone, TooMany
from hitlcrowd.mail import NO_EMAIL


class BudgetSpent(Conflict):
    code = "budget_spent"
    default_message = "This project's budget is spent; it serves no more tasks."


class InsufficientFunds(Conflict):
    """A requester's available balance (deposits less spend and holds) cannot cover a spend
    (apps.workers.ledger.funds_check)."""

    code = "insufficient_funds"
    default_message = "Your available balance cannot cover this: ask for a deposit first."


class EmailDisabled(Conflict):
    code = "email_disabled"
    default_message = NO_EMAIL


class SignupThrottled(TooMany):
    default_message = "Too many sign-ups from this address; try again later."


class VerificationRequestThrottled(TooMany):
    default_message = (
        "Too many requests for confirmation links came from your address; try again later."
    )


class EmailLinkInvalid(Gone):
    code = "email_link_invalid"
    default_message = (
        "This link does not work: it was used already, has expired, or was copied incompletely."
    )


class SignupClosed(Forbidden):
    code = "signup_closed"
    default_message = "This deployment does not take sign-ups: an administrator makes accounts."


class SignupInviteOnly(Forbidden):
    code = "signup_invite_only"
    default_message = (
        "Sign-up is by invitation here: open the invite link you were given (or send its "
        "token as `invite`)."
    )
