"""The worker pages through Django's test client: who may see them, what they show."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from apps.tasks.models import Answer, Assignment
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers.models import Qualification
from tests.factories import (
    GuidelineAcknowledgementFactory,
    GuidelineVersionFactory,
    HITFactory,
    ItemFactory,
    ProjectFactory,
)
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

PIXELS = [0, 16] + [8] * 62


def task_url(project) -> str:
    return reverse("worker-task", args=[project.id])


def hit_for(project, payload=None, **item_fields):
    item = ItemFactory(project=project, payload=payload or {"text": "a text"}, **item_fields)
    return HITFactory(item=item)


def answer(worker, project, label="cat") -> Answer:
    assignment = assignment_claim(worker=worker, project=project)
    return assignment_submit(
        worker=worker, assignment_id=assignment.pk, label=label, seconds_spent=2.0
    )


def page_urls(project, assignment_id=1) -> list[tuple[str, str]]:
    return [
        ("get", reverse("worker-projects")),
        ("get", task_url(project)),
        ("get", reverse("worker-history")),
        ("get", reverse("worker-earnings")),
        ("post", reverse("worker-submit", args=[assignment_id])),
        ("post", reverse("worker-skip", args=[assignment_id])),
    ]


# --- who may see the pages -------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(project):
    for method, url in page_urls(project):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_requesters_and_admins_get_403_on_every_worker_page(requester, admin_user, project):
    hit_for(project)
    for user in (requester, admin_user):
        client = client_for(user)
        for method, url in page_urls(project):
            assert getattr(client, method)(url).status_code == 403, (user, url)
    assert not Assignment.objects.exists()


def test_home_sends_a_worker_to_the_projects_page(worker):
    response = client_for(worker).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("worker-projects")


def test_a_worker_cannot_answer_or_skip_another_workers_assignment(worker, other_worker, project):
    hit_for(project)
    theirs = assignment_claim(worker=other_worker, project=project)
    client = client_for(worker)
    submit = client.post(reverse("worker-submit", args=[theirs.pk]), {"label": "cat"})
    skip = client.post(reverse("worker-skip", args=[theirs.pk]), {"reason": "mine now"})
    assert (submit.status_code, skip.status_code) == (404, 404)
    theirs.refresh_from_db()
    assert theirs.state == Assignment.State.LEASED
    assert not Answer.objects.exists()


def test_a_closed_project_has_no_task_page(worker, requester):
    closed = ProjectFactory(owner=requester, is_open=False)
    hit_for(closed)
    assert client_for(worker).get(task_url(closed)).status_code == 404
    assert not Assignment.objects.exists()


def test_the_task_pages_only_accept_get_and_the_forms_only_post(worker, project):
    client = client_for(worker)
    assert client.post(task_url(project)).status_code == 405
    assert client.get(reverse("worker-submit", args=[1])).status_code == 405


def test_the_page_script_and_stylesheet_are_found():
    # The task page needs these; collectstatic and the dev server look them up the same way.
    assert finders.find("hitlcrowd/task.js"), "add hitlcrowd/static to STATICFILES_DIRS"
    assert finders.find("hitlcrowd/site.css"), "add hitlcrowd/static to STATICFILES_DIRS"


# --- the projects page ---------------------------------------------------------------------


def test_the_projects_page_lists_open_projects_with_my_qualification_state(
    worker, requester, project
):
    tested = ProjectFactory(owner=requester, name="Birds", qualification_size=3)
    failed = ProjectFactory(owner=requester, name="Fish", qualification_size=3)
    Qualification.objects.create(worker=worker, project=failed, state="failed")
    ProjectFactory(owner=requester, name="Closed one", is_open=False)

    html = client_for(worker).get(reverse("worker-projects")).content.decode()

    assert "Animals" in html and "Birds" in html and "Fish" in html
    assert "Closed one" not in html
    assert "a short test on known items comes first" in html
    assert "not passed: no tasks here" in html
    assert task_url(tested) in html


# --- the task page ------------------------------------------------------------------------


def test_the_task_page_takes_a_lease_and_shows_labels_with_hotkeys_and_the_countdown(
    worker, project
):
    hit = hit_for(project, {"text": "A cat on a mat"})
    response = client_for(worker).get(task_url(project))
    assert response.status_code == 200
    html = response.content.decode()

    assignment = Assignment.objects.get(worker=worker)
    assert assignment.hit == hit
    assert "A cat on a mat" in html
    for key, label in zip("123", ["cat", "dog", "bird"], strict=True):
        assert re.search(rf'data-key="{key}"[^>]*><kbd>{key}</kbd> {label}</button>', html)
    seconds_left = int(re.search(r'data-seconds-left="(\d+)"', html).group(1))
    assert project.lease_seconds - 5 <= seconds_left <= project.lease_seconds
    assert "hitlcrowd/task.js" in html


def test_digit_labels_are_their_own_hotkeys(worker, requester):
    digits = ProjectFactory(owner=requester, labels=[str(d) for d in range(10)])
    hit_for(digits, {"pixels": PIXELS})
    html = client_for(worker).get(task_url(digits)).content.decode()
    for digit in "0123456789":
        assert f'value="{digit}" class="label-button" data-key="{digit}"' in html
    assert "<kbd>0</kbd>" not in html  # the label already shows its key


def test_labels_past_the_ninth_have_no_hotkey(worker, requester):
    many = ProjectFactory(owner=requester, labels=[f"class {n}" for n in range(11)])
    hit_for(many)
    buttons = client_for(worker).get(task_url(many)).context["buttons"]
    assert [b["key"] for b in buttons] == [*"123456789", "", ""]


def test_reloading_the_task_page_shows_the_same_lease(worker, project):
    hit_for(project)
    hit_for(project)
    client = client_for(worker)
    first = client.get(task_url(project)).context["task"]["assignment_id"]
    again = client.get(task_url(project)).context["task"]["assignment_id"]
    assert first == again
    assert Assignment.objects.filter(worker=worker).count() == 1


@pytest.mark.parametrize(
    ("payload", "expected", "absent"),
    [
        ({"text": "<b>bold</b> & more"}, ["&lt;b&gt;bold&lt;/b&gt; &amp; more"], ["<b>bold"]),
        (
            {"image_url": "https://img.example.org/cat.png"},
            ['<img class="item-image" src="https://img.example.org/cat.png"'],
            [],
        ),
        (
            {"image_url": "javascript:alert(1)"},
            ["<dt>image_url</dt><dd>javascript:alert(1)</dd>"],
            ["<img"],
        ),
        (
            {"pixels": PIXELS},
            [
                'viewBox="0 0 8 8"',
                '<rect x="0" y="0" width="1" height="1" fill="rgb(255,255,255)"/>',
                '<rect x="1" y="0" width="1" height="1" fill="rgb(0,0,0)"/>',
                '<rect x="7" y="7" width="1" height="1" fill="rgb(128,128,128)"/>',
            ],
            [],
        ),
        ({"pixels": [1, 2, 3]}, ["<dt>pixels</dt><dd>[1, 2, 3]</dd>"], ["<svg"]),
        ({"features": [0.5, 1.25, -3]}, ["0.5, 1.25, -3"], []),
        (
            {"text": "hi", "source": "<i>x</i>"},
            ["<dt>source</dt><dd>&lt;i&gt;x&lt;/i&gt;</dd>"],
            [],
        ),
    ],
    ids=["text", "image-url", "unsafe-url", "digits", "bad-pixels", "vector", "extra-field"],
)
def test_the_task_page_renders_each_payload_kind_safely(worker, project, payload, expected, absent):
    hit_for(project, payload)
    html = client_for(worker).get(task_url(project)).content.decode()
    for fragment in expected:
        assert fragment in html
    for fragment in absent:
        assert fragment not in html


def test_the_digits_image_has_one_square_per_pixel(worker, project):
    hit_for(project, {"pixels": PIXELS})
    html = client_for(worker).get(task_url(project)).content.decode()
    assert html.count("<rect ") == 64


def test_the_guideline_is_rendered_as_markdown_without_raw_html(worker, project):
    GuidelineVersionFactory(project=project, number=1, text="old")
    current = GuidelineVersionFactory(
        project=project,
        number=2,
        text="# Rules\n\nPick **one**.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2))",
    )
    GuidelineAcknowledgementFactory(guideline=current, worker=worker)
    hit_for(project)
    html = client_for(worker).get(task_url(project)).content.decode()
    assert "<details" in html and "Guideline (version 2)" in html
    assert "<h1>Rules</h1>" in html and "<strong>one</strong>" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_a_guideline_table_reaches_the_worker_as_a_table_with_its_cells_escaped(worker, project):
    text = "| label | looks like |\n|:--|--|\n| cat | <img src=x onerror=alert(1)> |"
    current = GuidelineVersionFactory(project=project, number=1, text=text)
    GuidelineAcknowledgementFactory(guideline=current, worker=worker)
    hit_for(project)
    html = client_for(worker).get(task_url(project)).content.decode()
    assert '<th style="text-align:left">label</th>' in html
    assert '<td style="text-align:left">cat</td>' in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_gold_item_looks_like_any_other_item(worker, requester):
    project = ProjectFactory(owner=requester, gold_share=1.0)
    hit_for(project, {"text": "Which animal?"}, is_gold=True, gold_label="bird")
    hit_for(project, {"text": "Real work"})  # gold comes only while real work is left
    response = client_for(worker).get(task_url(project))
    assert response.status_code == 200
    assert "Which animal?" in response.content.decode()
    assert set(response.context["task"]["item"]) == {"ref", "payload"}
    assert "gold" not in response.content.decode().lower()


def test_the_page_shows_only_this_projects_items(worker, requester, project):
    elsewhere = ProjectFactory(owner=requester, name="Elsewhere")
    hit_for(elsewhere, {"text": "from elsewhere"})
    html = client_for(worker).get(task_url(project)).content.decode()
    assert "from elsewhere" not in html
    assert "Nothing to do here right now" in html


def test_with_nothing_to_do_the_page_says_so(worker, project):
    response = client_for(worker).get(task_url(project))
    assert response.status_code == 200
    assert "Nothing to do here right now" in response.content.decode()
    assert "answer-form" not in response.content.decode()


def test_a_worker_who_failed_the_qualification_is_told_why(worker, requester):
    tested = ProjectFactory(owner=requester, qualification_size=2)
    hit_for(tested)
    Qualification.objects.create(worker=worker, project=tested, state="failed")
    response = client_for(worker).get(task_url(tested))
    assert response.status_code == 403
    html = response.content.decode()
    assert "You can't take tasks here right now" in html
    assert "qualification test" in response.context["refusal"]
    assert escape(response.context["refusal"]) in html
    assert not Assignment.objects.filter(worker=worker).exists()


# --- submit and skip ----------------------------------------------------------------------


def test_submitting_saves_the_answer_and_shows_the_next_task(worker, project):
    hit_for(project, {"text": "first"})
    hit_for(project, {"text": "second"})
    client = client_for(worker)
    assignment_id = client.get(task_url(project)).context["task"]["assignment_id"]

    response = client.post(
        reverse("worker-submit", args=[assignment_id]),
        {"label": "dog", "seconds_spent": "3.25"},
        follow=True,
    )

    assert response.redirect_chain == [(task_url(project), 302)]
    saved = Answer.objects.get(worker=worker)
    assert (saved.assignment_id, saved.label, saved.seconds_spent) == (assignment_id, "dog", 3.25)
    assert response.context["task"]["assignment_id"] != assignment_id
    assert "Saved “dog”" in response.content.decode()


def test_submitting_twice_keeps_one_answer(worker, project):
    hit_for(project)
    client = client_for(worker)
    assignment_id = client.get(task_url(project)).context["task"]["assignment_id"]
    url = reverse("worker-submit", args=[assignment_id])
    client.post(url, {"label": "dog", "seconds_spent": "1"})
    again = client.post(url, {"label": "dog", "seconds_spent": "1"}, follow=True)
    assert again.status_code == 200
    assert Answer.objects.filter(worker=worker).count() == 1


def test_without_javascript_the_server_measures_the_time(worker, project):
    hit_for(project)
    client = client_for(worker)
    assignment_id = client.get(task_url(project)).context["task"]["assignment_id"]
    client.post(reverse("worker-submit", args=[assignment_id]), {"label": "cat"})
    assert 0 <= Answer.objects.get(worker=worker).seconds_spent < 60


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"label": "cat", "seconds_spent": "abc"}, "seconds_spent"),
        ({"label": "cat", "seconds_spent": "-1"}, "seconds_spent"),
        ({"label": "cat", "seconds_spent": "nan"}, "seconds_spent"),
        ({"label": "horse", "seconds_spent": "1"}, "label"),
        ({"seconds_spent": "1"}, "label"),
    ],
)
def test_a_bad_answer_is_refused_with_a_message_and_nothing_saved(worker, project, form, field):
    hit_for(project)
    client = client_for(worker)
    assignment_id = client.get(task_url(project)).context["task"]["assignment_id"]
    response = client.post(reverse("worker-submit", args=[assignment_id]), form, follow=True)
    assert response.status_code == 200
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert errors, "the worker is told what was wrong"
    if field == "seconds_spent":
        assert "seconds_spent" in errors[0]
    assert not Answer.objects.exists()
    assert response.context["task"]["assignment_id"] == assignment_id


def test_an_answer_after_the_lease_expired_is_refused_with_the_reason(worker, project):
    hit_for(project)
    client = client_for(worker)
    assignment_id = client.get(task_url(project)).context["task"]["assignment_id"]
    Assignment.objects.filter(pk=assignment_id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.post(
        reverse("worker-submit", args=[assignment_id]),
        {"label": "cat", "seconds_spent": "4"},
        follow=True,
    )
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1 and "expired" in errors[0]
    assert not Answer.objects.exists()


def test_skipping_records_the_reason_and_shows_the_next_task(worker, project):
    hit_for(project, {"text": "first"})
    hit_for(project, {"text": "second"})
    client = client_for(worker)
    assignment_id = client.get(task_url(project)).context["task"]["assignment_id"]

    response = client.post(
        reverse("worker-skip", args=[assignment_id]), {"reason": "  too blurry  "}, follow=True
    )

    skipped = Assignment.objects.get(pk=assignment_id)
    assert (skipped.state, skipped.skip_reason) == (Assignment.State.SKIPPED, "too blurry")
    assert response.context["task"]["assignment_id"] != assignment_id
    assert not Answer.objects.exists()


# --- history and earnings --------------------------------------------------------------------


def test_history_shows_only_my_answers_paginated_without_extra_queries(
    worker, other_worker, project, django_assert_max_num_queries
):
    for _ in range(27):
        hit_for(project)
    for _ in range(27):
        answer(worker, project, label="dog")
    answer(other_worker, project, label="bird")
    client = client_for(worker)

    with django_assert_max_num_queries(6):
        first = client.get(reverse("worker-history"))
    second = client.get(reverse("worker-history"), {"page": 2})

    assert first.content.decode().count('class="answer-label"') == 25
    assert second.content.decode().count('class="answer-label"') == 2
    assert "bird" not in first.content.decode() + second.content.decode()
    assert "Page 1 of 2" in first.content.decode()


def test_earnings_are_counted_per_project(worker, other_worker, requester):
    paid = ProjectFactory(owner=requester, name="Paid", reward_per_answer=Decimal("0.05"))
    free = ProjectFactory(owner=requester, name="Free", reward_per_answer=Decimal("0"))
    for project in (paid, paid, free):
        hit_for(project)
    answer(worker, paid)
    answer(worker, paid)
    answer(worker, free)
    answer(other_worker, paid)

    response = client_for(worker).get(reverse("worker-earnings"))

    html = response.content.decode()
    assert re.search(r"<td>Paid</td><td>2</td><td>0.00</td><td>&ndash;</td><td>0.10</td>", html)
    assert re.search(r"<td>Free</td><td>1</td><td>0.00</td><td>&ndash;</td><td>0.00</td>", html)
    assert response.context["total"] == Decimal("0.10")
    assert response.context["answers"] == 3


def test_the_list_pages_make_the_same_few_queries_however_many_projects(
    worker, requester, django_assert_max_num_queries
):
    for _ in range(6):
        many = ProjectFactory(owner=requester, qualification_size=1)
        hit_for(many)
    client = client_for(worker)
    # Five: one of them asks for the MTurk HIT types that hide their HITs from workers who do
    # not qualify (apps.mturk.access.projects_hidden_from), whatever the projects.
    with django_assert_max_num_queries(5):
        assert client.get(reverse("worker-projects")).status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(reverse("worker-earnings")).status_code == 200


def test_showing_a_live_lease_again_reads_without_writing(
    worker, project, django_assert_max_num_queries
):
    hit_for(project, {"pixels": PIXELS})
    client = client_for(worker)
    client.get(task_url(project))
    with django_assert_max_num_queries(5) as queries:
        assert client.get(task_url(project)).status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]


def test_earnings_keep_fractions_of_a_cent(worker, requester):
    tiny = ProjectFactory(owner=requester, name="Tiny", reward_per_answer=Decimal("0.0025"))
    hit_for(tiny)
    answer(worker, tiny)
    html = client_for(worker).get(reverse("worker-earnings")).content.decode()
    assert "<td>Tiny</td><td>1</td><td>0.00</td><td>&ndash;</td><td>0.0025</td>" in html


def test_earnings_show_bonuses_and_rejected_answers(worker, requester, admin_user):
    from apps.workers.ledger import ledger_grant_bonus, ledger_reject_answers

    paid = ProjectFactory(owner=requester, name="Paid", reward_per_answer=Decimal("0.05"))
    for _ in range(2):
        hit_for(paid)
        answer(worker, paid)
    ledger_grant_bonus(worker=worker, project=paid, amount="1.00", reason="great", by=admin_user)
    ledger_reject_answers(worker=worker, project=paid, by=admin_user, reason="spam")

    response = client_for(worker).get(reverse("worker-earnings"))

    html = response.content.decode()
    assert re.search(r"<td>Paid</td><td>2</td><td>1.00</td><td>&minus;0.10</td><td>1.00</td>", html)
    assert response.context["total"] == Decimal("1.00")
