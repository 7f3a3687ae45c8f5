"""The day's chart: calls per local hour, answered vs not, as a PNG.

matplotlib's object API (Figure + the Agg canvas, no pyplot state) is safe to use from a worker
thread, which is where summaries render it: the event loop never waits on drawing.
"""

from __future__ import annotations

import io
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def calls_per_hour_figure(day: date, hours: list[list[int]], title: str) -> Figure:
    """A stacked bar per local hour (24 bars): answered at the bottom, not answered on top."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    answered = [h[0] for h in hours]
    missed = [h[1] for h in hours]
    figure = Figure(figsize=(8, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    slots = list(range(24))
    axes.bar(slots, answered, color="#2e7d32", label="answered", width=0.8)
    axes.bar(slots, missed, bottom=answered, color="#c62828", label="not answered", width=0.8)
    axes.set_xticks(slots[::2], [f"{h:02d}" for h in slots[::2]])
    axes.set_xlim(-0.6, 23.6)
    axes.set_xlabel("hour (local time)")
    axes.set_ylabel("calls")
    axes.set_title(f"{title} · {day.isoformat()}", fontsize=11)
    axes.legend(loc="upper left", frameon=False, fontsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


def calls_per_hour_png(day: date, hours: list[list[int]], title: str) -> bytes:
    out = io.BytesIO()
    calls_per_hour_figure(day, hours, title).savefig(out, format="png")
    return out.getvalue()
