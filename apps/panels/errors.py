"""The panels app's refusals (hitlcrowd/errors.py maps their kinds to HTTP statuses)."""

from __future__ import annotations

from hitlcrowd.errors import Conflict, Gone, InvalidInput, TooMany


class PanelLinkUnavailable(Gone):
    """The link was revoked or has expired: nobody enters through it any more."""

    code = "panel_link_unavailable"
    default_message = (
        "This study link is no longer active. If you came from a panel, return to it; "
        "the researcher may have ended the study."
    )


class PanelProjectClosed(Conflict):
    code = "panel_project_closed"
    default_message = (
        "This study is not taking answers at the moment. Return to the panel and try again "
        "later, or contact the researcher there."
    )


class PanelParticipantInvalid(InvalidInput):
    """The panel's participant id (or study or session id) is missing or malformed."""

    code = "panel_participant_invalid"

    def __init__(self, param: str, *, missing: bool) -> None:
        what = "is missing" if missing else "is not a valid panel id"
        message = (
            f"The link's {param} parameter {what}. Open the study from your panel "
            "again: it adds your id to the link."
        )
        super().__init__(message, errors={param: [message]})
        self.param = param


class PanelQuotaReached(Conflict):
    """A panel participant gave the answers their link asks for (or is done otherwise):
    no more tasks on that project."""

    code = "panel_quota_reached"
    default_message = (
        "You have done what this study asks of you: thank you. Your completion code is on "
        "the study's page."
    )


class PanelEntryThrottled(TooMany):
    """Too many new participants from one client address (PANEL_ENTRY_RATE_PER_CLIENT)."""

    default_message = (
        "Too many people started this study from your network just now. Wait a few "
        "minutes and open the study link from your panel again."
    )


class PanelAccountInactive(Conflict):
    code = "panel_account_inactive"
    default_message = (
        "This participant's account was deactivated by an administrator; contact the "
        "researcher through your panel."
    )
