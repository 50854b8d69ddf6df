"""Panel entry links from the participant's side: the URL a panel sends them to."""

from __future__ import annotations

import re
from urllib.parse import urlencode

PID = "5f1e9a3b2c4d6e8f0a1b2c3d"  # Prolific's shape: 24 hex digits


def entry_path(link, pid: str | None = PID, *, study="study-1", session="session-1", **more):
    """The link's entry path with the participant, study and session ids in the link's
    parameter names (None leaves one out); `more` adds parameters as they are."""
    params = {
        link.participant_param: pid,
        link.study_param: study,
        link.session_param: session,
        **more,
    }
    query = urlencode({name: value for name, value in params.items() if value is not None})
    return f"/enter/{link.token}/?{query}"


def done_path(link) -> str:
    return f"/enter/{link.token}/done/"


def task_page_answer(client, project_id: int, label: str = "cat"):
    """Open the task page as the signed-in client and answer its task: the submit's response
    (a redirect back to the task page). Fails when the page shows no task."""
    page = client.get(f"/work/projects/{project_id}/task/")
    assert page.status_code == 200, page
    found = re.search(r'data-assignment="(\d+)"', page.content.decode())
    assert found, "the task page shows no task"
    body = {"label": label, "seconds_spent": "2"}
    return client.post(f"/work/assignments/{found.group(1)}/submit/", body)
