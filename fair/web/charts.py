"""Charts drawn on the server: an inline SVG, a one-sentence summary and the data as a table.

Pages build a chart with `bars` or `lines` and print it with `{{ charts.show(chart) }}`
(templates/_charts.html): a <figure> holding the SVG (role="img", named by its <title> and
described by its <desc>), the summary as visible text, and the figures in a real <table>
inside a <details>, so that nobody has to read a picture. No script draws anything.

Readable at 360 px: the SVG has a viewBox and takes the width it is given (static/charts.css
caps it), its text is 16–18 units in a 400-unit-wide drawing (13 px or more at 360 px).
Bars are horizontal with their label above them, so long labels (employers' names) need no
rotated axis; a label too long for the drawing is cut with an ellipsis there, never in the
table. Colour is never the only carrier of meaning: each line of a line chart also has its
own dash pattern and marker shape, named in the legend; every colour reaches 3:1 or more
against white (WCAG 1.4.11).

Hidden figures (fair.disclosure): a bar whose figure is hidden is not drawn and its row says
"hidden"; a hidden point of a line is a gap in it. The table prints them with the one mark of
templates/_figures.html.

Strict CSP: no style attribute anywhere, only SVG presentation attributes (fill, stroke, x…)
and classes. Every piece of text is escaped here (markupsafe) before it joins the SVG markup.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup, escape

from fair import i18n

WIDTH = 400  # the drawing's width in SVG units (its viewBox), whatever its width on screen
FONT = 18  # labels' size in SVG units
SMALL = 16  # ticks' and values' size
LABEL_CHARACTERS = 40  # about what fits on one line of the drawing at FONT
LEGEND_CHARACTERS = 34  # what fits after a legend's sample line
# Colours with a contrast of 3:1 or more against white, told apart by dashes and markers too.
COLOURS = ("#0b4f9c", "#a4161a", "#1d6b35", "#7a4d00", "#5b2a86", "#1b1b1b")
DASHES = ("", "8 4", "2 3", "10 3 2 3", "4 4", "1 2")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "bar")
TEXT_FILL = "#1b1b1b"
MUTED_FILL = "#4a4a4a"
GRID = "#c8ced6"

_ids = itertools.count(1)


@dataclass(frozen=True)
class Item:
    """One bar: its label, its value, and whether the value may be shown (fair.disclosure)."""

    label: str
    value: float
    shown: bool = True


@dataclass(frozen=True)
class Series:
    """One line: its label, and one value per x label (None: hidden, drawn as a gap). Only
    the first `known` values exist (all by default): the others are still to come (a day
    after today), neither drawn nor hidden, and the table says "not yet"."""

    label: str
    values: Sequence[float | None]
    known: int | None = None

    def drawn(self) -> list[float | None]:
        """The values to draw: those still to come as gaps."""
        known = len(self.values) if self.known is None else self.known
        return [v if i < known else None for i, v in enumerate(self.values)]

    def cell(self, index: int) -> Cell:
        if self.known is not None and index >= self.known:
            return Cell(i18n.gettext("not yet"))
        return _cell(self.values[index])


@dataclass(frozen=True)
class Cell:
    """A figure of the data table: its text in the current language, or hidden."""

    text: str
    shown: bool = True


@dataclass(frozen=True)
class Chart:
    """What templates/_charts.html prints."""

    kind: Literal["bars", "lines"]
    id: str
    title: str
    summary: str
    svg: Markup
    headings: tuple[str, ...]  # the table's column headings, the row heading's first
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]  # (row heading, cells)
    empty: bool


def number(value: float) -> str:
    """A value in the current language: whole numbers without decimals, others with one."""
    return _number(value, i18n.current_locale.get())


@functools.lru_cache(maxsize=4096)
def _number(value: float, locale: str) -> str:
    # Babel takes a fraction of a millisecond a number: a chart's table has hundreds.
    digits = 0 if float(value).is_integer() else 1
    return i18n.decimal(value, digits, locale)


def bars(
    title: str,
    items: Sequence[Item],
    *,
    summary: str,
    columns: tuple[str, str] | None = None,
) -> Chart:
    """A horizontal bar chart, one bar per item in the given order. `columns` names the
    table's two columns (by default "Category" and "Value")."""
    chart_id = f"chart-{next(_ids)}"
    headings = columns or (i18n.gettext("Category"), i18n.gettext("Value"))
    rows = tuple((item.label, (_cell(item.value if item.shown else None),)) for item in items)
    svg = _bars_svg(chart_id, title, summary, items)
    empty = not any(item.shown for item in items)
    return Chart("bars", chart_id, title, summary, svg, headings, rows, empty)


def lines(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    summary: str,
    x_heading: str | None = None,
    join_gaps: bool = False,
) -> Chart:
    """A line chart, one line per series over the x labels (days by default: `x_heading`
    names the table's first column, "Day" unless given). A hidden value (None) is a gap in
    its line, or with `join_gaps` a stretch of line without a marker between the values
    around it (for cumulative counts, whose curve can only climb between them)."""
    for one in series:
        if len(one.values) != len(x_labels):
            raise ValueError("Each series needs one value per x label.")
    chart_id = f"chart-{next(_ids)}"
    headings = (x_heading or i18n.gettext("Day"), *(one.label for one in series))
    rows = tuple((label, tuple(one.cell(i) for one in series)) for i, label in enumerate(x_labels))
    svg = _lines_svg(chart_id, title, summary, x_labels, series, join_gaps)
    empty = not any(value is not None for one in series for value in one.drawn())
    return Chart("lines", chart_id, title, summary, svg, headings, rows, empty)


def _cell(value: float | None) -> Cell:
    return Cell(number(value), True) if value is not None else Cell("", False)


# Drawing ---------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    """An SVG coordinate: at most one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _attributes(**attributes: object) -> str:
    """name="value" pairs, every value escaped; names are ours (x, stroke_width → stroke-width)."""
    parts = []
    for name, value in attributes.items():
        if value is None or value == "":
            continue
        shown = _fmt(value) if isinstance(value, float) else str(value)
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{escape(shown)}"')
    return "".join(parts)


def _element(tag: str, content: str | Markup = "", **attributes: object) -> Markup:
    """An SVG element; `content` is escaped unless it is already Markup (built here)."""
    if content == "":
        return Markup(f"<{tag}{_attributes(**attributes)}/>")
    return Markup(f"<{tag}{_attributes(**attributes)}>{escape(content)}</{tag}>")


def _text(content: str, x: float, y: float, **attributes: object) -> Markup:
    attributes.setdefault("font_size", FONT)
    attributes.setdefault("fill", TEXT_FILL)
    return _element("text", escape(content), x=float(x), y=float(y), **attributes)


def _short(label: str, most: int = LABEL_CHARACTERS) -> str:
    """A label cut to fit one line of the drawing (the table keeps it whole)."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _middle(label: str, most: int) -> str:
    """A label cut in its middle to fit: series often differ by their end (a year, a date)."""
    if len(label) <= most:
        return label
    tail = (most - 1) // 2
    return label[: most - 1 - tail] + "…" + label[-tail:]


def _svg(chart_id: str, title: str, summary: str, height: float, body: list[Markup]) -> Markup:
    head = [
        _element("title", escape(title), id=f"{chart_id}-title"),
        _element("desc", escape(summary), id=f"{chart_id}-desc"),
    ]
    return _element(
        "svg",
        Markup("").join(head + body),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH} {_fmt(height)}",
        width="100%",
        role="img",
        aria_labelledby=f"{chart_id}-title",
        aria_describedby=f"{chart_id}-desc",
        class_="chart-drawing",
        font_family="inherit",
    )


BAR_ROW = 50  # a label line and a bar under it
BAR_HEIGHT = 18
VALUE_ROOM = 72  # right of the longest bar, for its value


def bar_length(value: float, largest: float) -> float:
    """The length of a bar in SVG units: proportional to its value, the largest fills the row."""
    return round((WIDTH - VALUE_ROOM) * value / largest, 1) if largest > 0 else 0.0


def _bars_svg(chart_id: str, title: str, summary: str, items: Sequence[Item]) -> Markup:
    largest = max((item.value for item in items if item.shown), default=0)
    body: list[Markup] = []
    for i, item in enumerate(items):
        top = i * BAR_ROW
        body.append(_text(_short(item.label), 0, top + FONT))
        bar_y = top + FONT + 6
        if not item.shown:
            hidden = i18n.gettext("hidden")
            body.append(_text(hidden, 0, bar_y + BAR_HEIGHT - 3, font_size=SMALL, fill=MUTED_FILL))
            continue
        length = bar_length(item.value, largest)
        if length > 0:
            body.append(
                _element(
                    "rect",
                    class_="bar",
                    x=0.0,
                    y=float(bar_y),
                    width=length,
                    height=float(BAR_HEIGHT),
                    fill=COLOURS[0],
                )
            )
        body.append(_text(number(item.value), length + 6, bar_y + BAR_HEIGHT - 3, font_size=SMALL))
    if not items:
        body.append(_text(i18n.gettext("No data yet."), 0, FONT, fill=MUTED_FILL))
    height = max(len(items), 1) * BAR_ROW + 4
    return _svg(chart_id, title, summary, height, body)


# Line charts: the plot's box inside the drawing, a legend under it.
LEFT, RIGHT, TOP, PLOT_HEIGHT = 64, 28, 12, 180  # RIGHT: half a label
AXIS_ROOM = 34  # under the plot, for the x labels
LEGEND_ROW = 26
MOST_X_LABELS = 7


def y_ticks(largest: float) -> list[float]:
    """The y axis's ticks from 0: a step of 1, 2 or 5 times a power of ten (1 at least, as
    counts are whole), about four steps up to the first tick ≥ `largest`."""
    wanted = max(largest / 4, 1.0)
    power = 10 ** math.floor(math.log10(wanted))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= wanted)
    steps = max(1, math.ceil(largest / step))
    return [float(step * n) for n in range(steps + 1)]


def label_step(lengths: Sequence[int]) -> int:
    """Every how many x labels one is written: no two overlap (about 0.6 of the font size per
    character) and no more than `MOST_X_LABELS` are written."""
    count = len(lengths)
    if count <= 1:
        return 1
    spacing = (WIDTH - LEFT - RIGHT) / (count - 1)
    needed = max(lengths) * SMALL * 0.6 + 8
    return max(math.ceil(needed / spacing), math.ceil(count / MOST_X_LABELS), 1)


def point_x(index: int, count: int) -> float:
    """Where the x label `index` of `count` sits."""
    width = WIDTH - LEFT - RIGHT
    return LEFT + (width * index / (count - 1) if count > 1 else width / 2)


def point_y(value: float, top: float) -> float:
    return TOP + PLOT_HEIGHT * (1 - value / top)


def _lines_svg(
    chart_id: str,
    title: str,
    summary: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    join_gaps: bool,
) -> Markup:
    known = [v for one in series for v in one.drawn() if v is not None]
    ticks = y_ticks(max(known, default=0))
    top = ticks[-1]
    body = _axes(ticks, x_labels)
    for index, one in enumerate(series):
        body.extend(_line(index, one, top, len(x_labels), join_gaps))
    legend_top = TOP + PLOT_HEIGHT + AXIS_ROOM
    for index, one in enumerate(series):
        body.extend(_legend_row(index, one.label, legend_top + index * LEGEND_ROW))
    if not known:
        body.append(_text(i18n.gettext("No data yet."), LEFT + 8, TOP + FONT + 4, fill=MUTED_FILL))
    height = legend_top + len(series) * LEGEND_ROW + 4
    return _svg(chart_id, title, summary, height, body)


def _axes(ticks: list[float], x_labels: Sequence[str]) -> list[Markup]:
    drawn: list[Markup] = []
    for value in ticks:
        y = point_y(value, ticks[-1])
        drawn.append(
            _element("line", x1=float(LEFT), x2=float(WIDTH - RIGHT), y1=y, y2=y, stroke=GRID)
        )
        drawn.append(_text(number(value), LEFT - 6, y + 6, font_size=SMALL, text_anchor="end"))
    count = len(x_labels)
    every = label_step([len(label) for label in x_labels])
    baseline = TOP + PLOT_HEIGHT + 22
    for i in range(0, count, every):
        drawn.append(
            _text(x_labels[i], point_x(i, count), baseline, font_size=SMALL, text_anchor="middle")
        )
    return drawn


def _line(index: int, one: Series, top: float, count: int, join_gaps: bool) -> list[Markup]:
    colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
    drawn: list[Markup] = []
    run: list[tuple[float, float]] = []
    points = [
        (point_x(i, count), point_y(v, top)) if v is not None else None
        for i, v in enumerate(one.drawn())
    ]
    drawn_through = [p for p in points if p is not None] if join_gaps else points
    for point in [*drawn_through, None]:
        if point is not None:
            run.append(point)
            continue
        if len(run) > 1:
            drawn.append(
                _element(
                    "polyline",
                    class_="line",
                    points=" ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in run),
                    fill="none",
                    stroke=colour,
                    stroke_width=2.5,
                    stroke_dasharray=dash,
                )
            )
        run = []
    for point in points:
        if point is not None:
            drawn.append(_marker(index, *point))
    return drawn


def _marker(index: int, x: float, y: float, size: float = 3.5) -> Markup:
    """The series' own marker shape at (x, y)."""
    colour, shape = COLOURS[index % len(COLOURS)], MARKERS[index % len(MARKERS)]
    s = size
    if shape == "circle":
        return _element("circle", cx=x, cy=y, r=s, fill=colour)
    if shape == "square":
        return _element("rect", x=x - s, y=y - s, width=2 * s, height=2 * s, fill=colour)
    corners = {
        "triangle": [(x, y - s - 1), (x + s + 1, y + s), (x - s - 1, y + s)],
        "diamond": [(x, y - s - 1), (x + s + 1, y), (x, y + s + 1), (x - s - 1, y)],
        "bar": [(x - s, y - 1.5), (x + s, y - 1.5), (x + s, y + 1.5), (x - s, y + 1.5)],
    }
    if shape == "cross":
        left, right, up, down = _fmt(x - s), _fmt(x + s), _fmt(y - s), _fmt(y + s)
        path = f"M{left} {up}L{right} {down}M{left} {down}L{right} {up}"
        return _element("path", d=path, stroke=colour, stroke_width=2.0, fill="none")
    points = " ".join(f"{_fmt(px)},{_fmt(py)}" for px, py in corners[shape])
    return _element("polygon", points=points, fill=colour)


def _legend_row(index: int, label: str, top: float) -> list[Markup]:
    colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
    y = top + LEGEND_ROW / 2
    sample = _element(
        "line",
        x1=0.0,
        x2=36.0,
        y1=y,
        y2=y,
        stroke=colour,
        stroke_width=2.5,
        stroke_dasharray=dash,
    )
    return [sample, _marker(index, 18, y), _text(_middle(label, LEGEND_CHARACTERS), 44, y + 6)]
