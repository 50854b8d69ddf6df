"""The AssignmentId a worker's lease on an MTurk HIT goes by: 30 upper-case letters and
digits, as MTurk's, known from the accept on (the requester's page gets it in its URL and
posts it back to externalSubmit), stored in MturkAssignment once submitted.

It is derived, not stored: the lease's row id (10 base-36 digits) and an HMAC of it under
SECRET_KEY (20 more, ~103 bits). So it names its lease without a look-up table or a write at
accept, and cannot be guessed: on MTurk too, the AssignmentId of a live lease was what let a
form post answer it. Rotating SECRET_KEY changes the ids of leases not yet submitted (their
pages then post an unknown id; the worker accepts again).
"""

from __future__ import annotations

import hmac

from django.utils.crypto import salted_hmac

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ROW_DIGITS = 10
MAC_DIGITS = 20
LENGTH = ROW_DIGITS + MAC_DIGITS
SALT = "hitlcrowd.mturk.assignment-id"


def assignment_id_of(assignment_pk: int) -> str:
    """The AssignmentId of our tasks.Assignment `assignment_pk`."""
    if not 0 < assignment_pk < 36**ROW_DIGITS:
        raise ValueError("an assignment's row id out of the AssignmentId's range")
    row = _base36(assignment_pk, ROW_DIGITS)
    return row + _mac(row)


def assignment_pk_of(assignment_id: str) -> int | None:
    """The tasks.Assignment row an AssignmentId names, or None when it is not one of ours
    (wrong shape, or a MAC that does not match: compared in constant time)."""
    if not isinstance(assignment_id, str) or len(assignment_id) != LENGTH:
        return None
    if not all(char in ALPHABET for char in assignment_id):
        return None
    row, mac = assignment_id[:ROW_DIGITS], assignment_id[ROW_DIGITS:]
    if not hmac.compare_digest(mac, _mac(row)):
        return None
    return int(row, 36)


def _mac(row: str) -> str:
    digest = salted_hmac(SALT, row, algorithm="sha256").digest()
    return _base36(int.from_bytes(digest, "big"), MAC_DIGITS)


def _base36(number: int, digits: int) -> str:
    chars = []
    for _ in range(digits):
        number, rest = divmod(number, 36)
        chars.append(ALPHABET[rest])
    return "".join(reversed(chars))
