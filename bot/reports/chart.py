"""The day's chart: calls per local hour, answered vs not, as a PNG.

matplotlib's object API (Figure + the Agg canvas, no pyplot state) is safe to use from a worker
thread, which is where summaries render it: the event loop never waits on drawing.

Building the figure (axes, 48 bars, ticks, legend) and fitting its margins cost about as much as
drawing it, so the process keeps one `HourChart` and only changes the bars' heights, the
title and, when the widest y tick label changes, the margins (bench/daily_summary.py). Worker
threads share that one chart under a lock (drawing is mostly Python holding the GIL anyway).
"""

from __future__ import annotations

import io
import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.i18n import DEFAULT, _, current, speaking

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

HOURS = list(range(24))
log = logging.getLogger(__name__)

# Fonts with Chinese glyphs, the first one installed is used (Debian: fonts-noto-cjk or
# fonts-wqy-zenhei). Without any, a Chinese chat's chart keeps English labels: boxes instead of
# characters would say nothing.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)


@cache
def cjk_font() -> tuple[str, int | str] | None:
    """The first installed font of CJK_FONTS: its name and its weight as matplotlib lists it."""
    from matplotlib import font_manager

    installed = {font.name: font.weight for font in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        log.warning("no font with Chinese glyphs installed: Chinese charts keep English labels")
        return None
    return found, installed[found]


def chinese_text() -> dict[RcKeyType, Any]:
    """matplotlib settings that draw every text of a chart in the Chinese font, at the weight
    the font has. WenQuanYi Zen Hei has one weight, listed as 500 (medium); asked for the
    default 400 (normal), matplotlib draws it anyway but logs a warning for every text."""
    font = cjk_font()
    if font is None:
        return {}
    from matplotlib import rcParams

    name, weight = font
    return {
        "font.sans-serif": [name, *rcParams["font.sans-serif"]],
        "font.weight": weight,
        "axes.titleweight": weight,
        "axes.labelweight": weight,
    }


def chart_language() -> str:
    """The language the chart's labels can be drawn in now."""
    language = current()
    if language == "zh" and cjk_font() is None:
        return DEFAULT
    return language


class HourChart:
    """One figure with a stacked bar per local hour: answered at the bottom, not answered on top.

    Not thread-safe: `calls_per_hour_png` draws on one under a lock.
    """

    def __init__(self) -> None:
        self.language = chart_language()
        self._settings: dict[RcKeyType, Any] = chinese_text() if self.language == "zh" else {}
        with self.fonts():
            self._build()

    def fonts(self) -> AbstractContextManager[Any]:
        """The chart's font settings, around building and drawing it (tick labels are made
        while drawing). Not set for good: an English chart keeps matplotlib's own font."""
        if not self._settings:
            return nullcontext()
        from matplotlib import rc_context

        return rc_context(self._settings)

    def _build(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.layout_engine import TightLayoutEngine
        from matplotlib.ticker import MaxNLocator, StrMethodFormatter

        self.figure = Figure(figsize=(8, 3.6), dpi=100)
        FigureCanvasAgg(self.figure)
        axes = self.axes = self.figure.add_subplot()
        zeros = [0] * 24
        with speaking(self.language):
            answered, not_answered = _("answered"), _("not answered")
            x_label, y_label = _("hour (local time)"), _("calls")
        self.answered = axes.bar(HOURS, zeros, color="#2e7d32", label=answered, width=0.8)
        self.missed = axes.bar(
            HOURS, zeros, bottom=zeros, color="#c62828", label=not_answered, width=0.8
        )
        axes.set_xticks(HOURS[::2], [f"{h:02d}" for h in HOURS[::2]])
        axes.set_xlim(-0.6, 23.6)
        # Calls are counted in ones, and read better as 120,000 than as 1.2 under a "1e5".
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        self.title = axes.set_title("", fontsize=11, loc="left")
        # Above the plot, right of the title: inside it, the legend covered the bars of the night
        # hours whenever they were the day's highest.
        self.legend = axes.legend(
            loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False, fontsize=9
        )
        axes.spines[["top", "right"]].set_visible(False)
        # Run directly, not set as the figure's layout engine: `Figure.tight_layout()` leaves a
        # placeholder engine behind, and with any engine `savefig` draws everything twice.
        self._tight = TightLayoutEngine()
        self._layout_for: int | None = None

    def show(self, day: date, hours: list[list[int]], title: str) -> Figure:
        """The chart of one day (24 [answered, not answered] pairs); returns the figure."""
        with self.fonts():
            return self._show(day, hours, title)

    def _show(self, day: date, hours: list[list[int]], title: str) -> Figure:
        for bar, top, (answered, missed) in zip(self.answered, self.missed, hours, strict=True):
            bar.set_height(answered)
            top.set_y(answered)
            top.set_height(missed)
        # The y range set here rather than by autoscaling, which walks every bar's path (a third
        # of the drawing time): from 0 to the highest stack plus 5% (the axes' default margin).
        highest = max((answered + missed for answered, missed in hours), default=0)
        self.axes.set_ylim(0, highest * 1.05 if highest else 1)
        self.title.set_text(f"{title} · {day.isoformat()}")
        # tight_layout measures every artist; only the y tick labels' width changes from day to
        # day (the title is one line, the x axis is fixed), so it is redone only when they do.
        low, high = self.axes.get_ylim()
        ticks = [t for t in self.axes.yaxis.get_major_locator()() if low <= t <= high]
        formatter = self.axes.yaxis.get_major_formatter()
        labels = formatter.format_ticks(ticks)
        key = max((len(label) for label in labels), default=0)
        if key != self._layout_for:
            self._tight.execute(self.figure)
            self._layout_for = key
        return self.figure

    def png(self, day: date, hours: list[list[int]], title: str) -> bytes:
        out = io.BytesIO()
        with self.fonts():
            self._show(day, hours, title).savefig(out, format="png")
        return out.getvalue()


def calls_per_hour_figure(day: date, hours: list[list[int]], title: str) -> Figure:
    """A new figure of the day's chart (24 bars per series)."""
    return HourChart().show(day, hours, title)


_shared: dict[str, HourChart] = {}  # one reused chart per language
_shared_lock = threading.Lock()


def calls_per_hour_png(day: date, hours: list[list[int]], title: str) -> bytes:
    """The day's chart as PNG bytes, drawn on the process's reused `HourChart` of the current
    language (`title` already in it)."""
    with _shared_lock:
        language = chart_language()
        if language not in _shared:
            _shared[language] = HourChart()
        return _shared[language].png(day, hours, title)
