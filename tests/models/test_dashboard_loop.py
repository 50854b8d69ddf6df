"""The model dashboard's "loop now" card: human answers, the crowd on gold, blocks, the live
chart, and the reload that `make demo-loop` asks for."""

from __future__ import annotations

from django.utils import timezone

from apps.tasks.models import Answer, Item
from apps.tasks.selectors.overview import loop_now
from apps.workers.models import Block
from tests import factories
from tests.helpers.pets import answer, labeled


def gold_item(project, label: str, n: int) -> Item:
    return factories.ItemFactory(
        project=project, external_id=f"g{n}", is_gold=True, gold_label=label
    )


def test_the_crowd_on_gold_counts_answers_and_majorities_against_the_gold_label(pets, worker):
    others = [factories.WorkerFactory() for _ in range(2)]
    right = gold_item(pets, "cat", 1)  # cat, cat, dog: the majority is right
    for who, label in zip([worker, *others], ["cat", "cat", "dog"], strict=True):
        answer(right, who, label)
    tie = gold_item(pets, "dog", 2)  # dog, cat: a tie is not a majority
    answer(tie, worker, "dog")
    answer(tie, others[0], "cat")

    loop = loop_now(project=pets)

    assert (loop["answers"], loop["gold_answers"]) == (5, 5)
    assert loop["gold_answer_accuracy"] == 3 / 5
    assert (loop["gold_consensus_right"], loop["gold_items_answered"]) == (1, 2)


def test_blocked_workers_count_only_while_the_block_stands(pets, worker, other_worker):
    Block.objects.create(project=pets, worker=worker, reason="quality")
    lifted = Block.objects.create(project=pets, worker=other_worker, reason="quality")
    lifted.lifted_at = lifted.created_at
    lifted.save()

    loop = loop_now(project=pets)

    assert loop["blocked"] == 1
    assert loop["blocked_by_minute"][-1] == 1


def test_human_answers_say_how_many_no_longer_count(pets, worker, requester, client):
    labeled(pets, 3, worker)
    Answer.objects.filter(pk=Answer.objects.filter(project=pets).first().pk).update(
        discarded_at=timezone.now(), discard_reason=Answer.DiscardReason.BLOCKED
    )

    assert (loop_now(project=pets)["answers"], loop_now(project=pets)["discarded"]) == (3, 1)
    client.force_login(requester)
    page = client.get(f"/requester/projects/{pets.pk}/models/").content.decode()
    assert "1 of them no longer count" in page


def test_answers_of_the_last_minute_land_in_the_last_bar(pets, worker):
    labeled(pets, 3, worker)

    loop = loop_now(project=pets)

    assert sum(loop["answers_per_minute"]) == 3
    assert loop["answers_per_minute"][-1] == 3


def test_the_dashboard_shows_the_loop_and_reloads_only_when_asked(pets, worker, requester, client):
    labeled(pets, 4, worker)
    client.force_login(requester)
    url = f"/requester/projects/{pets.pk}/models/"

    plain = client.get(url).content.decode()
    live = client.get(url + "?refresh=1").content.decode()
    junk = client.get(url + "?refresh=%C2%B2").content.decode()

    assert "The loop now" in plain and "Human answers" in plain
    assert 'http-equiv="refresh"' not in plain and 'http-equiv="refresh"' not in junk
    assert '<meta http-equiv="refresh" content="5">' in live  # at least 5 s
