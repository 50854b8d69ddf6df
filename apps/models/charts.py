"""Server-rendered charts for the dashboard: matplotlib (Agg) to an SVG string."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display in a web or queue worker process

from matplotlib.figure import Figure

SIZE = (6.0, 3.2)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: inlined in HTML


def learning_curve_svg(
    labels: Sequence[int], accuracy: Sequence[float], promoted: Sequence[bool]
) -> str:
    """Training labels against holdout accuracy, one point per version (filled: promoted)."""
    figure = Figure(figsize=SIZE)
    axes = figure.subplots()
    axes.plot(labels, accuracy, color="#4a6fa5", linewidth=1)
    for x, y, up in zip(labels, accuracy, promoted, strict=True):
        axes.plot([x], [y], "o", color="#4a6fa5", fillstyle="full" if up else "none")
    axes.set_xlabel("training labels")
    axes.set_ylabel("holdout accuracy")
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.set_title("Learning curve (filled: promoted)")
    return _svg(figure)


def per_day_svg(days: Sequence[str], automation: Sequence[float], answers: Sequence[int]) -> str:
    """Automation rate (line, left axis) and human answers (bars, right axis) per day."""
    figure = Figure(figsize=SIZE)
    axes = figure.subplots()
    positions = list(range(len(days)))
    right = axes.twinx()
    right.bar(positions, answers, color="#c9d6ea", label="human answers")
    right.set_ylabel("human answers")
    axes.set_zorder(right.get_zorder() + 1)
    axes.patch.set_visible(False)
    axes.plot(positions, automation, "o-", color="#b5523b", label="automation rate")
    axes.set_ylim(0, 1.02)
    axes.set_ylabel("automation rate")
    axes.set_xticks(positions, days, rotation=45, ha="right", fontsize=7)
    axes.set_title("Automation rate and human answers per day")
    return _svg(figure)


def live_svg(
    minutes: Sequence[str],
    answers: Sequence[int],
    blocked: Sequence[int],
    versions: Sequence[tuple[int, float]],
) -> str:
    """The last hour by minute: human answers (bars), workers blocked (step, right axis) and
    each model version's holdout accuracy at the minute it was trained (points, right axis
    as a share)."""
    figure = Figure(figsize=SIZE)
    axes = figure.subplots()
    positions = list(range(len(minutes)))
    axes.bar(positions, answers, color="#c9d6ea", label="human answers / min")
    axes.set_ylabel("human answers per minute")
    right = axes.twinx()
    right.step(positions, blocked, where="post", color="#b5523b", label="workers blocked")
    right.set_ylabel("workers blocked")
    right.set_ylim(0, max(max(blocked, default=0), 1) * 1.2)
    if versions:
        share = axes.twinx()
        share.spines["right"].set_position(("axes", 1.15))
        share.plot(*zip(*versions, strict=True), "o", color="#4a6fa5", label="model accuracy")
        share.set_ylim(0, 1.02)
        share.set_ylabel("model holdout accuracy")
    ticks = positions[:: max(1, len(positions) // 6)]
    axes.set_xticks(ticks, [minutes[i] for i in ticks], fontsize=7)
    axes.set_title("The last hour: answers, blocks, model versions")
    return _svg(figure)
