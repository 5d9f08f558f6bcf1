"""Which figures about people a page may show: small counts and the figures that would reveal them.

The rule, written under every table of such figures (templates/_figures.html, `rule`):

1. Primary suppression: a count below `THRESHOLD` (5) is hidden, and so is a zero. A zero is
   not a structural zero here (every category of these tables can hold people), and showing
   zeros would tell a reader that each hidden count is at least 1, which both narrows what can
   be worked out and reveals that somebody is there.
2. Secondary suppression: further figures are hidden until no hidden figure can be worked out
   from the shown ones, rows, columns and totals included: a figure is hidden only if, given
   everything shown, it could still take at least two values. The complementary figure is the
   smallest shown one (cells before totals) that, hidden too, stops a figure from being worked
   out, else the smallest in its row or column; the search repeats until nothing can be.
3. Every hidden figure carries the same mark on the page: telling the small counts apart from
   the complementary ones would tell a reader that the latter are at least 5, which is enough
   to work some small counts out again (a row 0, 5, 20 of total 25 would give 0 and 5 back).

What a reader can work out is judged as a reader who knows every shown figure and that counts
are whole numbers, never negative. In a table with its row, column and grand totals, a set of
hidden values other than the true one exists exactly when the hidden figures can trade one
person along a cycle of rows and columns (the totals row and column included, with the sign
of a total), without taking a person from a figure that holds none; `_movable` searches such a
cycle through each hidden figure. A hidden figure that has one can take two values at least
(the property test, tests/test_disclosure.py, checks it against all completions of small tables).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from fair.errors import Invalid

THRESHOLD = 5

Position = tuple[int, int]


@dataclass(frozen=True)
class Figure:
    """A count and whether a page may show it: templates print `value` only when `shown`."""

    value: int
    shown: bool


@dataclass(frozen=True)
class Listing:
    """Counts of the categories of one variable, and their total."""

    cells: tuple[Figure, ...]
    total: Figure


@dataclass(frozen=True)
class Grid:
    """A table of counts by row and column, with the row, column and grand totals."""

    cells: tuple[tuple[Figure, ...], ...]
    row_totals: tuple[Figure, ...]
    column_totals: tuple[Figure, ...]
    total: Figure


def small(value: int) -> bool:
    """Whether a count is hidden for its own sake (primary suppression)."""
    return value < THRESHOLD


def single(value: int) -> Figure:
    """A count shown on its own, with no total it adds up to."""
    _check([value])
    return Figure(value, not small(value))


def listing(
    counts: Sequence[int], *, hidden: Collection[int] = (), total_hidden: bool = False
) -> Listing:
    """Protect counts that add up to a shown total (one variable's categories).

    `hidden` (positions) and `total_hidden` name figures already hidden for the sake of
    another table sharing them (fair.insight's funnels): they stay hidden, and the others are
    protected around them. A hidden total with every count shown would be their sum: the
    smallest count is hidden then.
    """
    _check(counts)
    total = sum(counts)
    hidden = {i for i, value in enumerate(counts) if small(value)} | set(hidden)
    total_hidden = total_hidden or small(total)
    if total_hidden and counts and not hidden:
        hidden.add(min(range(len(counts)), key=lambda i: (counts[i], i)))
    while not total_hidden and _pinned_in_line(counts, hidden):
        shown = [i for i in range(len(counts)) if i not in hidden]
        if shown:
            hidden.add(min(shown, key=lambda i: (counts[i], i)))
        else:
            total_hidden = True
    figures = tuple(Figure(value, i not in hidden) for i, value in enumerate(counts))
    return Listing(figures, Figure(total, not total_hidden))


def _pinned_in_line(counts: Sequence[int], hidden: set[int]) -> bool:
    """With the total shown, a hidden count is free when another hidden one can trade a person
    with it (one of the two holds somebody). So a hidden count is pinned when it is the only
    one hidden, or when every hidden count is zero (no one to trade): linear in the hidden
    counts rather than trying every pair (a column of the 200 booths' table hides ~150)."""
    return len(hidden) == 1 or (len(hidden) > 1 and not any(counts[i] for i in hidden))


def grid(counts: Sequence[Sequence[int]]) -> Grid:
    """Protect a table of counts with its row, column and grand totals."""
    if not counts or not counts[0] or any(len(row) != len(counts[0]) for row in counts):
        raise Invalid("A table needs rows of the same, non-zero length.", code="table.shape")
    for row in counts:
        _check(row)
    values = _extended(counts)
    hidden = {position for position, value in values.items() if small(value)}
    rows, columns = len(counts), len(counts[0])
    # Hiding more only adds ways to move a person: a figure found free stays free.
    free: set[Position] = set()
    while (pinned := _first_pinned(values, hidden, free, rows, columns)) is not None:
        hidden.add(_complement(values, hidden, pinned, rows, columns))

    def figure(position: Position) -> Figure:
        return Figure(values[position], position not in hidden)

    return Grid(
        cells=tuple(tuple(figure((i, j)) for j in range(columns)) for i in range(rows)),
        row_totals=tuple(figure((i, columns)) for i in range(rows)),
        column_totals=tuple(figure((rows, j)) for j in range(columns)),
        total=figure((rows, columns)),
    )


def _check(counts: Sequence[int]) -> None:
    if any(value < 0 for value in counts):
        raise Invalid("Counts are never negative.", code="table.negative")


def _extended(counts: Sequence[Sequence[int]]) -> dict[Position, int]:
    """The table with its totals as row `rows` and column `columns`."""
    rows, columns = len(counts), len(counts[0])
    values = {(i, j): counts[i][j] for i in range(rows) for j in range(columns)}
    for i in range(rows):
        values[(i, columns)] = sum(counts[i])
    for j in range(columns):
        values[(rows, j)] = sum(counts[i][j] for i in range(rows))
    values[(rows, columns)] = sum(values[(i, columns)] for i in range(rows))
    return values


def _sign(position: Position, rows: int, columns: int) -> int:
    """+1 for cells and the grand total, -1 for row and column totals: every row and column
    of the extended table then adds up to zero with these signs."""
    i, j = position
    return 1 if (i == rows) == (j == columns) else -1


Node = tuple[str, int]
Arcs = dict[Node, list[tuple[Node, Position]]]


def _first_pinned(
    values: dict[Position, int],
    hidden: set[Position],
    free: set[Position],
    rows: int,
    columns: int,
) -> Position | None:
    """The first hidden figure that can still be worked out; those found free join `free`."""
    arcs = _arcs(values, hidden, rows, columns)
    for position in sorted(hidden - free):
        if not _movable(arcs, position):
            return position
        free.add(position)
    return None


def _arcs(values: dict[Position, int], hidden: set[Position], rows: int, columns: int) -> Arcs:
    """The moves of one person through hidden figures.

    Nodes are the rows ("r", i) and columns ("c", j) of the extended table; each hidden figure
    is an edge. Going from its row to its column adds one to its signed value, going back takes
    one away; a figure may lose a person only if it holds one.
    """
    arcs: Arcs = {}
    for position in hidden:
        for node, arc in _edge(values, position, rows, columns):
            arcs.setdefault(node, []).append(arc)
    return arcs


def _edge(
    values: dict[Position, int], position: Position, rows: int, columns: int
) -> list[tuple[Node, tuple[Node, Position]]]:
    """The arcs a hidden figure adds: (from, (to, figure))."""
    row, column = ("r", position[0]), ("c", position[1])
    sign, holds = _sign(position, rows, columns), values[position] >= 1
    found = []
    if sign == 1 or holds:
        found.append((row, (column, position)))
    if sign == -1 or holds:
        found.append((column, (row, position)))
    return found


def _movable(arcs: Arcs, position: Position) -> bool:
    """Whether one person can move along a cycle of hidden figures through `position`."""
    row, column = ("r", position[0]), ("c", position[1])
    forward = (column, position) in arcs.get(row, [])
    backward = (row, position) in arcs.get(column, [])
    return (forward and _reaches(arcs, column, row, position)) or (
        backward and _reaches(arcs, row, column, position)
    )


def _reaches(arcs: Arcs, start: Node, goal: Node, avoid: Position) -> bool:
    seen, todo = {start}, deque([start])
    while todo:
        node = todo.popleft()
        if node == goal:
            return True
        for step, edge in arcs.get(node, []):
            if edge != avoid and step not in seen:
                seen.add(step)
                todo.append(step)
    return False


def _complement(
    values: dict[Position, int],
    hidden: set[Position],
    pinned: Position,
    rows: int,
    columns: int,
) -> Position:
    """The figure to hide next for a hidden figure that can still be worked out: the smallest
    shown one (cells before totals) that frees it, else the smallest in its row or column.

    A new figure frees it when one of its arcs goes from a node the pinned figure's far end
    reaches to a node that reaches back its near end (a cycle through both).
    """

    def cost(position: Position) -> tuple[int, int, Position]:
        is_total = position[0] == rows or position[1] == columns
        return values[position], int(is_total), position

    shown = sorted((p for p in values if p not in hidden), key=cost)
    arcs = _arcs(values, hidden, rows, columns)
    backwards: Arcs = {}
    for node, steps in arcs.items():
        for step, edge in steps:
            backwards.setdefault(step, []).append((node, edge))
    row, column = ("r", pinned[0]), ("c", pinned[1])
    ways = [
        (_reached(arcs, far, pinned), _reached(backwards, near, pinned))
        for near, far in ((row, column), (column, row))
        if (far, pinned) in arcs.get(near, [])
    ]
    for candidate in shown:
        for node, (step, _) in _edge(values, candidate, rows, columns):
            if any(node in ahead and step in behind for ahead, behind in ways):
                return candidate
    i, j = pinned
    line = [p for p in shown if p[0] == i or p[1] == j]
    return (line or shown)[0]


def _reached(arcs: Arcs, start: Node, avoid: Position) -> set[Node]:
    """The nodes `start` reaches without the figure `avoid`."""
    seen, todo = {start}, deque([start])
    while todo:
        for step, edge in arcs.get(todo.popleft(), []):
            if edge != avoid and step not in seen:
                seen.add(step)
                todo.append(step)
    return seen
