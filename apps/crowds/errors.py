"""The crowds app's refusals (hitlcrowd/errors.py maps their kinds to HTTP statuses).

An invite link that is unknown reads like any missing object (404). One that exists but can no
longer be used says why (410): whoever holds the token was given it, so telling them it
expired, was revoked or is used up leaks nothing, and tells them whom to ask.
"""

from __future__ import annotations

from hitlcrowd.errors import Forbidden, Gone, NotFound


class InviteNotFound(NotFound):
    code = "invite_not_found"
    default_message = "This invite link is not valid. Check that you copied all of it."


class InviteExpired(Gone):
    code = "invite_expired"
    default_message = "This invite link has expired. Ask the requester for a new one."


class InviteRevoked(Gone):
    code = "invite_revoked"
    default_message = "This invite link was withdrawn. Ask the requester for a new one."


class InviteUsedUp(Gone):
    code = "invite_used_up"
    default_message = (
        "This invite link has been used as many times as it allows. Ask the requester for "
        "a new one."
    )


class NotAWorker(Forbidden):
    code = "not_a_worker"
    default_message = "Only worker accounts join groups."
