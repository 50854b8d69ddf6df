"""A Mephisto-style run end to end: the requester's script makes a qualification type, a HIT
type requiring it to accept (ActionsGuarded Accept) and HITs through boto3 with an
ExternalQuestion on its own small server (a thread here); a worker in Chromium finds the
project, previews a HIT (assignmentId ASSIGNMENT_ID_NOT_AVAILABLE), is refused the accept
(the page names the qualification), gives the requester their WorkerId, who grants the
qualification (AssociateQualificationWithWorker); the worker then accepts the HIT previewed
and answers in the requester's page, whose form posts to turkSubmitTo/mturk/externalSubmit from
the requester's site; the requester reads the answer XML back through ListAssignmentsForHIT
and GetAssignment, parses it, approves (the reward is paid then), sends a bonus and blocks the
worker, who then sees no more of the requester's HITs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree.ElementTree import fromstring

import pytest

from apps.mturk.answers import NAMESPACE
from apps.mturk.services.access_keys import access_key_create
from apps.mturk.workers import worker_id_of
from apps.workers.models import LedgerEntry
from tests import factories
from tests.helpers.browser import log_in
from tests.helpers.mturk import close_clients, mturk_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The requester's page, as Mephisto's and psiTurk's do it: read the ids from the query, say
# "preview" until the HIT is accepted, post the form to turkSubmitTo.
TASK_PAGE = b"""<!DOCTYPE html><html><body>
<p id="state"></p>
<form id="mturk_form" method="post">
  <input type="hidden" name="assignmentId" id="assignmentId">
  <label>What is in the picture? <input name="animal" id="animal"></label>
  <label><input type="checkbox" name="tags" value="cute" checked> cute</label>
  <label><input type="checkbox" name="tags" value="small" checked> small</label>
  <button type="submit" id="submit">Submit HIT</button>
</form>
<script>
  var q = new URLSearchParams(location.search);
  var preview = q.get("assignmentId") === "ASSIGNMENT_ID_NOT_AVAILABLE";
  document.getElementById("assignmentId").value = q.get("assignmentId");
  document.getElementById("state").textContent = preview
    ? "PREVIEW " + q.get("hitId") : "WORKING as " + q.get("workerId") + " batch " + q.get("batch");
  document.getElementById("submit").disabled = preview;
  document.getElementById("mturk_form").action = q.get("turkSubmitTo") + "/mturk/externalSubmit";
</script></body></html>"""


class TaskPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(TASK_PAGE)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def task_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TaskPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def mturk(live_server, requester) -> Iterator[object]:
    key = access_key_create(requester=requester, label="mephisto")
    yield mturk_client(f"{live_server.url}/mturk/", key.key.access_key_id, key.secret)
    close_clients()


def external_question(url: str) -> str:
    return (
        '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/'
        'AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">'
        f"<ExternalURL>{url}</ExternalURL><FrameHeight>400</FrameHeight></ExternalQuestion>"
    )


def answers_of(xml: str) -> dict[str, str]:
    ns = {"q": NAMESPACE}
    root = fromstring(xml.encode())
    assert root.tag == f"{{{NAMESPACE}}}QuestionFormAnswers"
    return {
        a.findtext("q:QuestionIdentifier", namespaces=ns): a.findtext("q:FreeText", namespaces=ns)
        for a in root.findall("q:Answer", ns)
    }


def test_a_requesters_hits_are_answered_in_chromium_and_read_back(
    page, live_server, settings, task_server, mturk, worker, requester
):
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url
    factories.DepositFactory(requester=requester, amount=Decimal("10"))
    qualification_id = mturk.create_qualification_type(
        Name="Knows animals",
        Description="Passed our animal screening.",
        QualificationTypeStatus="Active",
    )["QualificationType"]["QualificationTypeId"]
    hit_type_id = mturk.create_hit_type(
        Title="What animal is it?",
        Description="Name the animal in one picture.",
        Reward="0.10",
        AssignmentDurationInSeconds=600,
        AutoApprovalDelayInSeconds=3600,
        QualificationRequirements=[
            {
                "QualificationTypeId": qualification_id,
                "Comparator": "Exists",
                "ActionsGuarded": "Accept",
            }
        ],
    )["HITTypeId"]
    hit_ids = [
        mturk.create_hit_with_hit_type(
            HITTypeId=hit_type_id,
            LifetimeInSeconds=3600,
            MaxAssignments=1,
            Question=external_question(f"{task_server}/task?batch={n}"),
        )["HIT"]["HITId"]
        for n in (1, 2)
    ]

    log_in(page, worker.username)
    page.get_by_role("link", name="What animal is it?").click()  # in the project list

    frame = page.frame_locator("#question")
    expect(frame.locator("#state")).to_have_text(f"PREVIEW {hit_ids[0]}")  # Accept is guarded
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status").filter(has_text="Knows animals")).to_be_visible()
    expect(frame.locator("#state")).to_have_text(f"PREVIEW {hit_ids[0]}")  # nothing taken

    # The worker gives the requester their WorkerId (their account page shows it); the
    # requester's script grants the qualification with it.
    task_url = page.url
    page.goto(f"{live_server.url}/work/account/")
    worker_id = page.locator(".account-worker-id code").inner_text()
    assert worker_id == worker_id_of(worker)
    mturk.associate_qualification_with_worker(
        QualificationTypeId=qualification_id,
        WorkerId=worker_id,
        IntegerValue=1,
        SendNotification=False,
    )
    page.goto(task_url)
    expect(frame.locator("#state")).to_have_text(f"PREVIEW {hit_ids[0]}")
    page.get_by_role("button", name="Accept").click()
    expect(frame.locator("#state")).to_have_text(f"WORKING as {worker_id_of(worker)} batch 1")
    frame.locator("#animal").fill("a cat & a mouse")
    frame.locator("#submit").click()
    expect(frame.locator("#mturk-submitted")).to_contain_text("your answers were submitted")

    frame.get_by_role("link", name="Next task").click()
    expect(frame.locator("#state")).to_have_text(f"PREVIEW {hit_ids[1]}")

    hit = mturk.get_hit(HITId=hit_ids[0])["HIT"]
    assert (hit["NumberOfAssignmentsAvailable"], hit["NumberOfAssignmentsPending"]) == (0, 0)
    listed = mturk.list_assignments_for_hit(HITId=hit_ids[0], AssignmentStatuses=["Submitted"])
    (assignment,) = listed["Assignments"]
    assert (assignment["WorkerId"], assignment["HITId"]) == (worker_id_of(worker), hit_ids[0])
    assert answers_of(assignment["Answer"]) == {"animal": "a cat & a mouse", "tags": "cute|small"}
    assignment_id = assignment["AssignmentId"]
    got = mturk.get_assignment(AssignmentId=assignment_id)["Assignment"]
    assert got["Answer"] == assignment["Answer"]

    # The requester's side of the run: approve (paid then), a bonus, a block.
    mturk.approve_assignment(AssignmentId=assignment_id, RequesterFeedback="Thanks!")
    mturk.send_bonus(
        WorkerId=assignment["WorkerId"],
        BonusAmount="0.25",
        AssignmentId=assignment_id,
        Reason="Careful work.",
        UniqueRequestToken="bonus-1",
    )
    status = mturk.get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"]
    assert status == "Approved"
    paid = LedgerEntry.objects.filter(worker=worker).values_list("kind", "amount")
    assert sorted((kind, str(amount)) for kind, amount in paid) == [
        ("bonus", "0.2500"),
        ("credit", "0.1000"),
    ]
    mturk.create_worker_block(WorkerId=assignment["WorkerId"], Reason="Enough for today.")
    page.reload()
    expect(page.get_by_text("can't take HITs here")).to_be_visible()
    expect(page.locator("#question")).to_have_count(0)
