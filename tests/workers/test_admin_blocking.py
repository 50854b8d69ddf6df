"""An admin blocks and unblocks one worker by hand (on a project or everywhere) and rejects a
chosen set of answers, each with a reason the worker reads; all of it audited (issue 14,
items 1 and 7)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from apps.tasks.errors import NotQualified
from apps.tasks.models import HIT, Answer, Assignment, AuditEvent
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.slots import hit_slots_recount
from apps.workers.ledger import AnswerChoice, ledger_grant_bonus, ledger_reject_answers
from apps.workers.models import Block, LedgerEntry
from apps.workers.services import (
    worker_block,
    worker_block_everywhere,
    worker_unblock,
    worker_unblock_everywhere,
)
from hitlcrowd.errors import InvalidInput
from tests import factories
from tests.helpers.paid import answer_one, make_paid_project, reversed_ids, submit_url
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_project(requester):
    return make_paid_project(requester)


def test_a_block_by_hand_without_a_reason_is_a_400_naming_the_reason(
    paid_project, worker, admin_user
):
    with pytest.raises(InvalidInput) as refused:
        worker_block(worker=worker, project=paid_project, reason="  ", by=admin_user)
    assert "reason" in refused.value.errors
    assert not Block.objects.exists()


def test_only_workers_can_be_blocked_by_hand(paid_project, requester, admin_user):
    with pytest.raises(InvalidInput) as refused:
        worker_block(worker=requester, project=paid_project, reason="No", by=admin_user)
    assert "worker" in refused.value.errors


def test_a_worker_blocked_by_hand_is_refused_with_the_admins_reason(
    paid_project, worker, admin_user
):
    worker_block(worker=worker, project=paid_project, reason="Copy-pasted labels", by=admin_user)
    with pytest.raises(NotQualified) as refused:
        assignment_claim(worker=worker, project=paid_project)
    assert refused.value.message.endswith("by an administrator: Copy-pasted labels")
    event = AuditEvent.objects.get(action="worker_block")
    assert event.actor == admin_user and event.changes["reason"] == "Copy-pasted labels"
    assert event.created_at is not None


def test_blocking_everywhere_is_one_account_wide_block_audited_on_every_project(
    paid_project, project, worker, admin_user
):
    block = worker_block_everywhere(worker=worker, reason="Fraud", by=admin_user)
    assert block.project is None and not block.automatic and block.created_by == admin_user
    assert Block.objects.get() == block
    events = AuditEvent.objects.filter(action="worker_block")
    assert {e.project_id for e in events} == {paid_project.pk, project.pk}
    assert all(e.changes["everywhere"] for e in events)
    # Blocking everywhere again keeps the one block.
    assert worker_block_everywhere(worker=worker, reason="Again", by=admin_user) == block
    assert Block.objects.count() == 1

    lifted = worker_unblock_everywhere(worker=worker, by=admin_user, reason="Appeal accepted")
    assert lifted == [block] and not Block.objects.filter(lifted_at__isnull=True).exists()
    unblocks = AuditEvent.objects.filter(action="worker_unblock")
    assert {e.changes["reason"] for e in unblocks} == {"Appeal accepted"}
    assert assignment_claim(worker=worker, project=paid_project) is not None


def lease_on(worker, project) -> Assignment:
    """A live lease written as a claim would, for a worker the claim now refuses."""
    hit = HIT.objects.filter(item__project=project).order_by("pk").first()
    lease = factories.AssignmentFactory(hit=hit, worker=worker)
    hit_slots_recount(hit_ids=[hit.pk])
    return lease


def test_a_worker_blocked_everywhere_is_refused_on_a_project_created_later_with_the_reason(
    requester, worker, admin_user, api_client_for
):
    worker_block_everywhere(worker=worker, reason="Sold their account", by=admin_user)
    later = make_paid_project(requester)
    lease = lease_on(worker, later)
    client = api_client_for(worker)

    served = client.post("/api/v1/work/next/", {"project": later.pk}, format="json")
    submitted = client.post(
        submit_url(lease.pk), {"label": "cat", "seconds_spent": 2}, format="json"
    )

    for response in (served, submitted):
        assert response.status_code == 403, response.content
        detail = response.json()["detail"]
        assert detail == "You are blocked on every project by an administrator: Sold their account"
    assert not Answer.objects.filter(worker=worker).exists()
    assert assignment_claim(worker=worker) is None  # the any-project claim passes over them


def test_unblocking_everywhere_lets_the_worker_work_on_a_project_created_later(
    requester, worker, admin_user
):
    block = worker_block_everywhere(worker=worker, reason="Checking", by=admin_user)
    later = make_paid_project(requester)
    with pytest.raises(NotQualified, match="every project"):
        assignment_claim(worker=worker, project=later)
    worker_unblock(block=block, by=admin_user, reason="Checked")
    assert answer_one(worker, later).pk in set(
        Answer.objects.counted().values_list("pk", flat=True)
    )


def test_blocking_everywhere_takes_the_answers_out_of_the_consensus_in_two_projects(
    requester, worker, admin_user
):
    first, second = make_paid_project(requester), make_paid_project(requester)
    answers = [answer_one(worker, first), answer_one(worker, second)]
    leased = assignment_claim(worker=worker, project=second)

    worker_block_everywhere(worker=worker, reason="Bot", by=admin_user)

    assert not Answer.objects.counted().filter(worker=worker).exists()
    discarded = Answer.objects.filter(pk__in=[a.pk for a in answers], discard_reason="blocked")
    assert discarded.count() == 2
    leased.refresh_from_db()
    assert leased.state == Assignment.State.DISCARDED
    taken = HIT.objects.filter(item__project__in=[first, second]).values_list(
        "slots_taken", flat=True
    )
    assert set(taken) == {0}  # their slots came back
    assert reversed_ids(worker) == set()  # no pay taken back without a rejection


def test_blocking_everywhere_with_rejection_reverses_the_pay_on_every_project(
    requester, worker, admin_user
):
    first, second = make_paid_project(requester), make_paid_project(requester)
    answers = {answer_one(worker, first).pk, answer_one(worker, second).pk}
    worker_block_everywhere(worker=worker, reason="Bot", by=admin_user, reject=AnswerChoice())
    assert reversed_ids(worker) == answers


def test_a_block_on_one_project_still_holds_after_unblocking_the_account_wide_one(
    paid_project, project, worker, admin_user
):
    worker_block(worker=worker, project=paid_project, reason="Sloppy here", by=admin_user)
    everywhere = worker_block_everywhere(worker=worker, reason="Review", by=admin_user)
    worker_unblock(block=everywhere, by=admin_user)
    with pytest.raises(NotQualified, match="Sloppy here"):
        assignment_claim(worker=worker, project=paid_project)


def test_after_an_unblock_the_worker_answers_again_and_the_discarded_answers_stay_out(
    paid_project, worker, admin_user
):
    before = answer_one(worker, paid_project)
    block = worker_block(worker=worker, project=paid_project, reason="Too fast", by=admin_user)
    worker_unblock(block=block, by=admin_user, reason="Checked: fine")
    after = answer_one(worker, paid_project)
    counted = set(Answer.objects.counted().values_list("pk", flat=True))
    assert before.pk not in counted and after.pk in counted
    # A block alone takes no pay back: only a rejection does.
    assert reversed_ids(worker) == set()


def test_rejecting_chosen_answers_reverses_only_those_and_only_once(
    paid_project, worker, admin_user
):
    answers = [answer_one(worker, paid_project) for _ in range(3)]
    choice = AnswerChoice(answer_ids=(answers[0].pk, answers[2].pk))
    kwargs = {"worker": worker, "project": paid_project, "by": admin_user, "reason": "Off-topic"}

    assert ledger_reject_answers(**kwargs, choice=choice) == 2
    assert ledger_reject_answers(**kwargs, choice=choice) == 0

    assert reversed_ids(worker) == {answers[0].pk, answers[2].pk}
    counted = set(Answer.objects.counted().values_list("pk", flat=True))
    assert counted == {answers[1].pk}
    rejected = Answer.objects.filter(discard_reason="rejected")
    assert set(rejected.values_list("pk", flat=True)) == {answers[0].pk, answers[2].pk}


def test_rejecting_a_time_range_takes_the_answers_given_in_it(paid_project, worker, admin_user):
    old, new = answer_one(worker, paid_project), answer_one(worker, paid_project)
    Answer.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=2))
    since = new.created_at - timedelta(hours=1)
    choice = AnswerChoice(since=since, until=new.created_at + timedelta(seconds=1))
    ledger_reject_answers(
        worker=worker, project=paid_project, by=admin_user, reason="Bad day", choice=choice
    )
    assert reversed_ids(worker) == {new.pk}


def test_another_workers_answer_ids_or_a_backwards_range_are_a_400_naming_the_field(
    paid_project, worker, other_worker, admin_user
):
    theirs = answer_one(other_worker, paid_project)
    kwargs = {"worker": worker, "project": paid_project, "by": admin_user, "reason": "x"}
    with pytest.raises(InvalidInput) as refused:
        ledger_reject_answers(**kwargs, choice=AnswerChoice(answer_ids=(theirs.pk,)))
    assert "answer_ids" in refused.value.errors
    now = theirs.created_at
    with pytest.raises(InvalidInput) as refused:
        ledger_reject_answers(**kwargs, choice=AnswerChoice(since=now, until=now))
    assert "until" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        ledger_reject_answers(**{**kwargs, "reason": ""})
    assert "reason" in refused.value.errors
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


def test_a_block_with_a_rejection_reverses_the_pay_and_marks_the_answers_rejected(
    paid_project, worker, admin_user
):
    answers = [answer_one(worker, paid_project) for _ in range(2)]
    worker_block(
        worker=worker, project=paid_project, reason="Bot", by=admin_user, reject=AnswerChoice()
    )
    assert reversed_ids(worker) == {a.pk for a in answers}
    assert set(Answer.objects.values_list("discard_reason", flat=True)) == {"rejected"}
    reasons = set(LedgerEntry.objects.filter(kind="reversal").values_list("reason", flat=True))
    assert reasons == {"Bot"}


def test_the_worker_pages_show_the_block_the_rejection_and_the_bonus_with_the_admins_reasons(
    paid_project, worker, admin_user
):
    answers = [answer_one(worker, paid_project) for _ in range(2)]
    ledger_grant_bonus(
        worker=worker, project=paid_project, amount="2", reason="Careful work", by=admin_user
    )
    ledger_reject_answers(
        worker=worker,
        project=paid_project,
        by=admin_user,
        reason="Guessed labels",
        choice=AnswerChoice(answer_ids=(answers[0].pk,)),
    )
    worker_block(
        worker=worker, project=paid_project, reason="Please reread the guideline", by=admin_user
    )
    client = client_for(worker)

    home = client.get(reverse("worker-projects")).content.decode()
    assert "by an administrator: Please reread the guideline" in home
    assert "Start labeling" not in home

    history = client.get(reverse("worker-history")).content.decode()
    assert "Rejected: Guessed labels" in history
    assert "Not counted (you were blocked on this project)" in history

    earnings = client.get(reverse("worker-earnings")).content.decode()
    assert re.search(r"bonus of 2\.00</span>\s*&mdash; “Careful work”", earnings)
    assert re.search(r"1 answer rejected, &minus;0\.25</span>\s*&mdash; “Guessed labels”", earnings)


def test_the_projects_page_tells_a_worker_blocked_everywhere_why_on_a_later_project(
    requester, worker, admin_user
):
    worker_block_everywhere(worker=worker, reason="Shared account", by=admin_user)
    make_paid_project(requester)
    home = client_for(worker).get(reverse("worker-projects")).content.decode()
    assert "blocked on every project by an administrator: Shared account" in home
    assert "Start labeling" not in home


def test_the_worker_api_tells_the_admins_reasons(paid_project, worker, admin_user, api_client_for):
    answers = [answer_one(worker, paid_project) for _ in range(2)]
    choice = AnswerChoice(answer_ids=(answers[1].pk,))
    ledger_reject_answers(
        worker=worker, project=paid_project, by=admin_user, reason="Wrong", choice=choice
    )
    rows = api_client_for(worker).get("/api/v1/work/history/").json()["results"]
    by_id = {row["id"]: row for row in rows}
    assert by_id[answers[1].pk]["rejected_reason"] == "Wrong"
    assert by_id[answers[1].pk]["discard_reason"] == "rejected"
    assert by_id[answers[0].pk]["rejected_reason"] is None


def test_the_worker_pages_make_the_same_few_queries_however_many_notes(
    paid_project, worker, admin_user, django_assert_max_num_queries
):
    for _ in range(5):
        answer = answer_one(worker, paid_project)
        choice = AnswerChoice(answer_ids=(answer.pk,))
        ledger_reject_answers(
            worker=worker,
            project=paid_project,
            by=admin_user,
            reason=f"r{answer.pk}",
            choice=choice,
        )
        ledger_grant_bonus(
            worker=worker, project=paid_project, amount="1", reason="b", by=admin_user
        )
    client = client_for(worker)
    for name, most in [("worker-projects", 5), ("worker-history", 6), ("worker-earnings", 5)]:
        with django_assert_max_num_queries(most):
            assert client.get(reverse(name)).status_code == 200
