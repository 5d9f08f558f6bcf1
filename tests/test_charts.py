"""fair/web/charts.py and templates/_charts.html: the drawing matches the figures, every label is
escaped, hidden figures are neither drawn nor printed, and the data table holds every figure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from fair import i18n
from fair.web import charts
from fair.web.templating import env

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    token = i18n.current_locale.set("en")
    yield
    i18n.current_locale.reset(token)


def drawing(chart: charts.Chart) -> ET.Element:
    """The SVG parsed as XML: it must be well-formed, hostile labels included."""
    return ET.fromstring(str(chart.svg))


def shown(chart: charts.Chart) -> str:
    return str(env().get_template("_charts.html").module.show(chart))  # type: ignore[attr-defined]


class Table(HTMLParser):
    """The rows of the chart's data table, as text, and the tags seen."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.caption = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        if tag in ("th", "td", "caption"):
            self._in = tag
            if tag != "caption":
                self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td", "caption"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "caption":
            self.caption += data
        elif self._in:
            self.rows[-1][-1] += data.strip()


def table(html: str) -> Table:
    parser = Table()
    parser.feed(html)
    return parser


def test_bar_lengths_are_proportional_to_the_values() -> None:
    values = [40, 10, 25, 0, 7]
    chart = charts.bars(
        "Interviews by mode",
        [charts.Item(f"mode {i}", v) for i, v in enumerate(values)],
        summary="Most interviews were held by video.",
    )
    svg = drawing(chart)
    assert svg.get("role") == "img"
    assert svg.get("viewBox", "").startswith(f"0 0 {charts.WIDTH} ")
    assert svg.get("width") == "100%"
    assert svg.get("aria-labelledby") == f"{chart.id}-title"
    assert svg.findtext(f"{SVG}title") == "Interviews by mode"
    assert svg.findtext(f"{SVG}desc") == "Most interviews were held by video."
    bars = [float(r.get("width", "")) for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]
    longest = charts.WIDTH - charts.VALUE_ROOM
    # A zero draws no bar; the others are value / largest of the longest bar.
    assert bars == [pytest.approx(longest * v / 40, abs=0.05) for v in values if v]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == [
        "mode 0", "40", "mode 1", "10", "mode 2", "25", "mode 3", "0", "mode 4", "7"
    ]  # fmt: skip
    assert "style" not in chart.svg


def test_a_hostile_label_is_escaped_everywhere() -> None:
    label = "<script>alert(1)</script> & <img src=x>"
    chart = charts.bars("A <b>title</b>", [charts.Item(label, 3)], summary="<i>sum</i>")
    line = charts.lines("t", ["<d>"], [charts.Series(label, [1])], summary="s")
    for one in (chart, line):
        html = shown(one)
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert "<i>" not in html
    svg = drawing(chart)
    assert [t.text for t in svg.iter(f"{SVG}text")] == [label, "3"]
    assert svg.findtext(f"{SVG}title") == "A <b>title</b>"
    parsed = table(shown(chart))
    assert parsed.caption == "A <b>title</b>"
    assert parsed.rows == [["Category", "Value"], [label, "3"]]
    legend = [t.text for t in drawing(line).iter(f"{SVG}text")][-1] or ""
    head, tail = legend.split("…")  # cut in its middle to fit the legend
    assert label.startswith(head) and label.endswith(tail)


def test_hidden_items_draw_no_bar_and_print_the_hidden_mark() -> None:
    items = [charts.Item("Video", 12), charts.Item("Phone", 3, shown=False)]
    items.append(charts.Item("Written chat", 9, shown=False))
    chart = charts.bars("By mode", items, summary="s")
    svg = drawing(chart)
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert [float(r.get("width", "")) for r in bars] == [charts.WIDTH - charts.VALUE_ROOM]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["Video", "12", "Phone", "hidden", "Written chat", "hidden"]
    html = shown(chart)
    assert "3" not in texts and ">9<" not in html and ">3<" not in html
    assert table(html).rows == [
        ["Category", "Value"], ["Video", "12"], ["Phone", "hidden"], ["Written chat", "hidden"]
    ]  # fmt: skip
    # The same mark as templates/_figures.html.
    assert html.count('<span class="hidden-figure">hidden</span>') == 2


def test_the_scale_follows_the_largest_shown_figure() -> None:
    """A hidden figure larger than the others must not be given away by the scale."""
    chart = charts.bars("s", [charts.Item("a", 5), charts.Item("b", 500, shown=False)], summary="")
    bars = [r for r in drawing(chart).iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert [float(r.get("width", "")) for r in bars] == [charts.WIDTH - charts.VALUE_ROOM]


def test_empty_data() -> None:
    for chart in (
        charts.bars("Nothing", [], summary="No interview yet."),
        charts.lines("Nothing", [], [], summary="No view yet."),
        charts.lines("Hidden", ["1", "2"], [charts.Series("a", [None, None])], summary="s"),
    ):
        assert chart.empty
        svg = drawing(chart)
        assert "No data yet." in [t.text for t in svg.iter(f"{SVG}text")]
        assert not [e for e in svg.iter(f"{SVG}polyline")]
        assert "No data yet." in shown(chart)


def test_line_points_sit_at_their_values_with_gaps_for_hidden_ones() -> None:
    days = ["1 Dec", "2 Dec", "3 Dec", "4 Dec", "5 Dec"]
    views = charts.Series("Views", [0, 40, 80, 20, 60])
    people = charts.Series("People", [10, None, 30, 30, 5])
    chart = charts.lines("Per day", days, [views, people], summary="Views rose.")
    svg = drawing(chart)
    top = charts.y_ticks(80)[-1]
    assert top >= 80
    lines = [e for e in svg.iter(f"{SVG}polyline")]
    # Views in one run; People cut by its hidden day into a lone point and a run of three.
    assert len(lines) == 2
    expected = [(charts.point_x(i, 5), charts.point_y(v, top)) for i, v in enumerate(views.values)]
    points = [tuple(map(float, p.split(","))) for p in (lines[0].get("points") or "").split()]
    assert points == [pytest.approx(p, abs=0.05) for p in expected]
    ys = [y for _, y in points]
    # Heights above the axis are proportional to the values.
    base = charts.point_y(0, top)
    assert [(base - y) / (base - ys[2]) for y in ys] == pytest.approx([0, 0.5, 1, 0.25, 0.75])
    second = [tuple(map(float, p.split(","))) for p in (lines[1].get("points") or "").split()]
    assert [x for x, _ in second] == pytest.approx([charts.point_x(i, 5) for i in (2, 3, 4)])
    # Told apart without colour: a dash pattern and another marker shape.
    assert lines[0].get("stroke-dasharray") is None
    assert lines[1].get("stroke-dasharray") == charts.DASHES[1]
    assert lines[0].get("stroke") != lines[1].get("stroke")
    parsed = table(shown(chart))
    assert parsed.rows == [
        ["Day", "Views", "People"],
        ["1 Dec", "0", "10"],
        ["2 Dec", "40", "hidden"],
        ["3 Dec", "80", "30"],
        ["4 Dec", "20", "30"],
        ["5 Dec", "60", "5"],
    ]
    assert "Views rose." in shown(chart)


def test_the_figure_names_its_parts_and_uses_no_inline_style() -> None:
    chart = charts.lines(
        "Views", ["a", "b"], [charts.Series("x", [1, 2])], summary="Up.", x_heading="Week"
    )
    html = shown(chart)
    parsed = table(html)
    assert parsed.rows[0] == ["Week", "x"]
    tags = [tag for tag, _ in parsed.tags]
    assert tags[:2] == ["figure", "figcaption"]
    assert "details" in tags and "summary" in tags and "caption" in tags
    headings = [attrs.get("scope") for tag, attrs in parsed.tags if tag == "th"]
    assert headings == ["col", "col", "row", "row"]
    assert "style=" not in html and "<script" not in html
    assert chart.id in html


def test_numbers_in_french() -> None:
    i18n.current_locale.set("fr")
    chart = charts.bars("s", [charts.Item("a", 12345), charts.Item("b", 2.5)], summary="")
    texts = [t.text for t in drawing(chart).iter(f"{SVG}text")]
    assert texts == ["a", "12\u202f345", "b", "2,5"]


def test_a_series_needs_one_value_per_label() -> None:
    with pytest.raises(ValueError):
        charts.lines("t", ["a", "b"], [charts.Series("x", [1])], summary="")


def test_a_long_label_is_cut_in_the_drawing_only() -> None:
    label = "Groupement d'employeurs pour l'insertion et la qualification du Lunellois"
    chart = charts.bars("s", [charts.Item(label, 5)], summary="")
    first = next(drawing(chart).iter(f"{SVG}text")).text or ""
    assert first.endswith("…") and label.startswith(first[:-1])
    assert len(first) == charts.LABEL_CHARACTERS
    assert table(shown(chart)).rows[1] == [label, "5"]


def test_joined_gaps_draw_one_line_with_markers_only_at_shown_values() -> None:
    series = [charts.Series("Registered", [5, None, None, 12, None])]
    joined = charts.lines("t", ["a", "b", "c", "d", "e"], series, summary="", join_gaps=True)
    cut = charts.lines("t", ["a", "b", "c", "d", "e"], series, summary="")
    (line,) = list(drawing(joined).iter(f"{SVG}polyline"))
    xs = [float(p.split(",")[0]) for p in (line.get("points") or "").split()]
    assert xs == pytest.approx([charts.point_x(0, 5), charts.point_x(3, 5)])
    assert not list(drawing(cut).iter(f"{SVG}polyline"))  # two lone points: no line
    markers = [e for e in drawing(joined).iter(f"{SVG}circle")]
    assert len(markers) == 2 + 1  # the two values, and the legend's sample


def test_x_labels_are_written_without_overlapping() -> None:
    days = [f"D{n:+d}" if n else "D" for n in range(-21, 22)]
    chart = charts.lines("t", days, [charts.Series("a", [1] * 43)], summary="")
    written = [t.text for t in drawing(chart).iter(f"{SVG}text") if t.text in days]
    assert written == ["D-21", "D-14", "D-7", "D", "D+7", "D+14", "D+21"]
    five = ["29 Nov", "30 Nov", "1 Dec", "2 Dec", "3 Dec"]
    chart = charts.lines("t", five, [charts.Series("a", [1] * 5)], summary="")
    assert [t.text for t in drawing(chart).iter(f"{SVG}text") if t.text in five] == five


def test_values_still_to_come_are_neither_drawn_nor_hidden() -> None:
    series = charts.Series("This edition", [5, 10, 10, 10], known=2)
    chart = charts.lines("t", ["D", "D+1", "D+2", "D+3"], [series], summary="", join_gaps=True)
    (line,) = list(drawing(chart).iter(f"{SVG}polyline"))
    assert len((line.get("points") or "").split()) == 2
    assert table(shown(chart)).rows[1:] == [
        ["D", "5"], ["D+1", "10"], ["D+2", "not yet"], ["D+3", "not yet"]
    ]  # fmt: skip


def test_a_long_series_label_is_cut_in_its_middle_in_the_legend() -> None:
    label = "Rencontres pour l'emploi du Pays de Lunel (Nov 29, 2025)"
    chart = charts.lines("t", ["a"], [charts.Series(label, [5])], summary="")
    legend = [t.text for t in drawing(chart).iter(f"{SVG}text")][-1] or ""
    assert len(legend) == charts.LEGEND_CHARACTERS and "…" in legend
    assert legend.endswith("(Nov 29, 2025)") and label.startswith(legend.split("…")[0])
