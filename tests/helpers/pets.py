"""A small text project the built-in model learns quickly: cat words against dog words, items
labeled by the crowd and items waiting for people."""

from __future__ import annotations

import random

from apps.tasks.models import HIT, Answer, Item
from tests import factories

CAT = ["meow", "purr", "whiskers", "kitten", "feline", "litter", "claws", "mouse"]
DOG = ["woof", "bark", "puppy", "fetch", "canine", "leash", "bone", "kennel"]
FILLER = ["the", "a", "very", "small", "big", "today", "again", "near"]


def text_of(label: str, i: int) -> str:
    rng = random.Random(i)
    words = CAT if label == "cat" else DOG
    return " ".join(rng.sample(words, 3) + rng.sample(FILLER, 2))


def answer(item: Item, worker, label: str) -> Answer:
    """`worker`'s answer on the item, on its HIT (made if it has none)."""
    hit = HIT.objects.filter(item=item).first() or factories.HITFactory(item=item)
    return factories.AnswerFactory(assignment__hit=hit, assignment__worker=worker, label=label)


def labeled(project, n: int, worker, start: int = 0, flip: set[int] | None = None) -> list[Item]:
    """n items with crowd consensus (half cat, half dog), each answered by `worker`;
    positions in `flip` get the wrong consensus label."""
    items = []
    for i in range(start, start + n):
        truth = "cat" if i % 2 else "dog"
        label = ("dog" if truth == "cat" else "cat") if flip and i in flip else truth
        item = factories.ItemFactory(
            project=project,
            external_id=f"l{i}",
            payload={"text": text_of(truth, i)},
            state=Item.State.CONSENSUS,
            final_label=label,
            label_source=Item.Source.CROWD,
            final_confidence=0.97,
        )
        answer(item, worker, label)
        HIT.objects.filter(item=item).update(state=HIT.State.DONE)
        item.truth = truth
        items.append(item)
    return items


def waiting(project, texts: list[str], prefix: str = "w") -> list[Item]:
    items = []
    for i, text in enumerate(texts):
        item = factories.ItemFactory(
            project=project, external_id=f"{prefix}{i}", payload={"text": text}
        )
        factories.HITFactory(item=item, answers_wanted=2)
        items.append(item)
    return items
