"""An HTMLQuestion cannot reach the worker's session or our pages, in a real Chromium: a
question page that tries to read document.cookie and our storage, to fetch the work API and a
worker page with the worker's cookies, and to read its parent page, gets nothing; its form
(action hard-coded to MTurk's address, as old HTMLQuestions have it) still submits here."""

from __future__ import annotations

import json
import re

import pytest

from apps.mturk.answers import NAMESPACE
from apps.mturk.models import MturkAssignment, MturkHIT
from tests import factories
from tests.helpers.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROBE = """<!DOCTYPE html><html><body>
<form id="mturk_form" method="post" action="https://www.mturk.com/mturk/externalSubmit">
  <input type="hidden" name="assignmentId" id="assignmentId" value="">
  <textarea name="report" id="report"></textarea>
  <input type="submit" id="submitButton" value="Submit" disabled>
</form>
<script>
  var report = {};
  function attempt(name, read) {
    try { report[name] = "read:" + String(read()); } catch (e) { report[name] = "error:" + e.name; }
  }
  document.getElementById("assignmentId").value =
    new URLSearchParams(location.search).get("assignmentId");
  attempt("cookie", function () { return document.cookie; });
  attempt("storage", function () { return localStorage.length; });
  attempt("parent", function () { return parent.document.body.innerHTML; });
  attempt("top", function () { return top.location.href; });
  report.origin = String(self.origin);
  function probe(name, url) {
    return fetch(url, {credentials: "include"}).then(
      function (r) {
        return r.text().then(function (t) { report[name] = "read:" + t.slice(0, 200); });
      },
      function (e) { report[name] = "error:" + e.name; });
  }
  Promise.all([probe("api", "/api/v1/work/projects/"), probe("page", "/work/")]).then(function () {
    document.getElementById("report").value = JSON.stringify(report);
    document.getElementById("submitButton").disabled = false;
  });
</script></body></html>"""
QUESTION = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/'
    'AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">'
    f"<HTMLContent><![CDATA[{PROBE}]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"
)


def test_an_html_question_reads_nothing_of_the_worker_and_still_submits(
    page, live_server, settings, worker
):
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url
    hit = factories.MturkHITFactory(question=QUESTION, question_kind=MturkHIT.QuestionKind.HTML)
    project = hit.hit_type.project

    log_in(page, worker.username)
    page.goto(f"/work/projects/{project.pk}/task/")
    page.get_by_role("button", name="Accept").click()
    # Our own page can read its CSRF cookie: there is something the question could steal.
    assert "csrftoken=" in page.evaluate("document.cookie")

    frame = page.frame_locator("#question")
    expect(frame.locator("#submitButton")).to_be_enabled()
    report = json.loads(frame.locator("#report").input_value())
    assert report["origin"] == "null"  # opaque: the sandbox without allow-same-origin
    assert report["cookie"] == "error:SecurityError"
    assert report["storage"] == "error:SecurityError"
    assert report["parent"] == "error:SecurityError"
    assert report["top"] == "error:SecurityError"
    assert report["api"] == "error:TypeError"  # CORS: the answer is never readable
    assert report["page"] == "error:TypeError"

    frame.locator("#submitButton").click()
    expect(frame.locator("#mturk-submitted")).to_contain_text("your answers were submitted")
    mturk = MturkAssignment.objects.get()
    assert f'xmlns="{NAMESPACE}"' in mturk.answer
    assert re.search(r"<QuestionIdentifier>report</QuestionIdentifier>", mturk.answer)
    assert "csrftoken" not in mturk.answer and worker.username not in mturk.answer

    frame.get_by_role("link", name="Next task").click()  # leaves the frame on a click
    page.wait_for_url(re.compile(rf"/work/projects/{project.pk}/task/$"))
    expect(page.get_by_text("Nothing to do here right now")).to_be_visible()
