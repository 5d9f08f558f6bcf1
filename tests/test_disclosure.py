"""Small counts and the figures that would reveal them stay hidden (fair.disclosure).

The property tests judge the suppressor with a checker written apart from it: a search over
the whole numbers a reader could put in the hidden places of a small table, given every shown
figure. Each hidden figure must be able to take two values at least. The search only needs
cell values up to the largest count plus one: if another completion exists at all, one exists
that moves one person along a cycle of hidden figures from the true table (the difference of two
completions splits into such cycles), so no hidden cell ever needs more than one extra person.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fair import disclosure
from fair.disclosure import Figure, Grid, Listing
from fair.errors import Invalid

Layout = list[list[int | None]]  # the extended table as a reader sees it: None where hidden


def seen(table: Grid) -> Layout:
    def cell(figure: Figure) -> int | None:
        return figure.value if figure.shown else None

    pairs = zip(table.cells, table.row_totals, strict=True)
    rows = [[cell(f) for f in row] + [cell(t)] for row, t in pairs]
    return [*rows, [cell(f) for f in table.column_totals] + [cell(table.total)]]


def extended(cells: Sequence[Sequence[int]]) -> list[list[int]]:
    rows = [[*row, sum(row)] for row in cells]
    return [*rows, [sum(column) for column in zip(*rows, strict=True)]]


def differing_completion(layout: Layout, truth: list[list[int]], target: tuple[int, int]) -> bool:
    """Whether a table of cells in 0..bound agrees with every shown figure and puts another
    value than the truth at `target` (a hidden cell or total of the extended table).

    A depth-first search over the hidden cells, the target's cells first and each tried from
    its true value outwards, cut as soon as a partial row, column or grand sum passes a shown
    total or a complete one misses it.
    """
    rows, columns = len(layout) - 1, len(layout[0]) - 1
    bound = max(max(row[:columns]) for row in truth[:rows]) + 1
    places = [(i, j) for i in range(rows) for j in range(columns) if layout[i][j] is None]
    ti, tj = target

    def in_target(place: tuple[int, int]) -> bool:
        i, j = place
        return (ti == rows or i == ti) and (tj == columns or j == tj)

    places.sort(key=lambda place: not in_target(place))
    left_in_row = [sum(1 for i, _ in places if i == r) for r in range(rows)]
    left_in_column = [sum(1 for _, j in places if j == c) for c in range(columns)]
    row_sums = [sum(v for v in layout[i][:columns] if v is not None) for i in range(rows)]
    column_sums = [
        sum(layout[i][j] or 0 for i in range(rows) if layout[i][j] is not None)
        for j in range(columns)
    ]

    def sum_fits(got: int, want: int | None, left: int) -> bool:
        """A sum `got` with `left` cells still to fill can still reach the shown `want`."""
        return want is None or got <= want <= got + left * bound

    def fits() -> bool:
        return (
            all(sum_fits(row_sums[i], layout[i][columns], left_in_row[i]) for i in range(rows))
            and all(
                sum_fits(column_sums[j], layout[rows][j], left_in_column[j]) for j in range(columns)
            )
            and sum_fits(sum(row_sums), layout[rows][columns], sum(left_in_row))
        )

    def target_value() -> int:
        if ti < rows and tj < columns:
            return cells[ti][tj]
        if ti < rows:
            return row_sums[ti]
        if tj < columns:
            return column_sums[tj]
        return sum(row_sums)

    cells = [[layout[i][j] or 0 for j in range(columns)] for i in range(rows)]

    def order(true: int) -> list[int]:
        return sorted(range(bound + 1), key=lambda v: (abs(v - true), v))

    # Once the target's own cells are filled (they come first), its value is known.
    decided = sum(1 for place in places if in_target(place))

    def search(k: int) -> bool:
        if k == decided and target_value() == truth[ti][tj]:
            return False
        if k == len(places):
            return True
        i, j = places[k]
        left_in_row[i] -= 1
        left_in_column[j] -= 1
        found = False
        for value in order(truth[i][j]):
            cells[i][j] = value
            row_sums[i] += value
            column_sums[j] += value
            if fits() and search(k + 1):
                found = True
            row_sums[i] -= value
            column_sums[j] -= value
            if found:
                break
        left_in_row[i] += 1
        left_in_column[j] += 1
        return found

    return search(0)


def pinned_figures(layout: Layout, truth: list[list[int]]) -> set[tuple[int, int]]:
    """The hidden places (of the extended table) that every completion fills alike."""
    hidden = [
        (i, j) for i, row in enumerate(layout) for j, value in enumerate(row) if value is None
    ]
    return {place for place in hidden if not differing_completion(layout, truth, place)}


def check_grid(cells: list[list[int]]) -> Grid:
    table = disclosure.grid(cells)
    truth = extended(cells)
    layout = seen(table)
    for i, row in enumerate(layout):
        for j, value in enumerate(row):
            assert value is None or value == truth[i][j]
            # Every figure below the threshold is hidden, zero included.
            assert value is None or value >= disclosure.THRESHOLD
    assert pinned_figures(layout, truth) == set(), (cells, layout)
    return table


def shown_list(listing: Listing) -> list[int | None]:
    figures = [*listing.cells, listing.total]
    return [f.value if f.shown else None for f in figures]


def check_listing(counts: list[int]) -> Listing:
    result = disclosure.listing(counts)
    shown = shown_list(result)
    assert [v for v in shown if v is not None] == [
        v for v, s in zip([*counts, sum(counts)], shown, strict=True) if s is not None
    ]
    assert all(v is None or v >= disclosure.THRESHOLD for v in shown)
    # A reader's completions: hidden counts in 0..max+1 that add up to the shown total.
    hidden = [i for i, v in enumerate(shown[:-1]) if v is None]
    bound = max(counts) + 1
    values: dict[int, set[int]] = {i: set() for i in hidden}
    total_values: set[int] = set()

    def fill(k: int, chosen: list[int]) -> None:
        if k == len(hidden):
            total = sum(v for v in shown[:-1] if v is not None) + sum(chosen)
            if shown[-1] is None or total == shown[-1]:
                for i, v in zip(hidden, chosen, strict=True):
                    values[i].add(v)
                total_values.add(total)
            return
        for value in range(bound + 1):
            fill(k + 1, [*chosen, value])

    fill(0, [])
    assert all(len(found) >= 2 for found in values.values()), (counts, shown, values)
    if shown[-1] is None:
        assert len(total_values) >= 2
    return result


# Examples -----------------------------------------------------------------------------------


def test_a_count_on_its_own_is_shown_from_five() -> None:
    assert [disclosure.single(n) for n in (0, 4, 5)] == [
        Figure(0, False),
        Figure(4, False),
        Figure(5, True),
    ]


def test_a_small_count_hides_the_next_smallest_so_the_total_gives_nothing_away() -> None:
    assert shown_list(check_listing([3, 10, 20])) == [None, None, 20, 33]
    # Two small counts hide each other; a zero is hidden like any small count.
    assert shown_list(check_listing([0, 2, 20])) == [None, None, 20, 22]
    assert shown_list(check_listing([7, 9, 20])) == [7, 9, 20, 36]


def test_two_hidden_zeros_alone_would_add_up_to_nothing_so_a_third_figure_goes() -> None:
    # 0 + 0 = 0 would give both zeros back: the smallest count with somebody in it goes too.
    assert shown_list(check_listing([0, 0, 6, 20])) == [None, None, None, 20, 26]


def test_a_small_total_hides_everything() -> None:
    assert shown_list(check_listing([1, 2])) == [None, None, None]


def test_a_table_hides_a_rectangle_of_cells_around_a_small_one() -> None:
    table = check_grid([[1, 1, 30], [10, 12, 40]])
    assert seen(table) == [
        [None, None, 30, 32],
        [None, None, 40, 62],
        [11, 13, 70, 94],
    ]


def test_a_row_with_one_small_cell_and_no_partner_hides_its_total() -> None:
    # One row: the only other cells are its own, so the complementary figure is in the row.
    table = check_grid([[3, 8, 9]])
    assert seen(table) == [[None, None, 9, 20], [None, None, 9, 20]]


def test_a_table_of_large_counts_shows_everything() -> None:
    assert seen(check_grid([[5, 6], [7, 8]])) == [[5, 6, 11], [7, 8, 15], [12, 14, 26]]


def test_negative_counts_and_ragged_tables_are_refused() -> None:
    with pytest.raises(Invalid):
        disclosure.listing([3, -1])
    with pytest.raises(Invalid):
        disclosure.grid([[1, 2], [3]])
    with pytest.raises(Invalid):
        disclosure.grid([])


def test_the_checker_sees_what_a_reader_can_work_out() -> None:
    # The checker itself: one hidden cell in a row whose total is shown is found out.
    truth = extended([[3, 6], [5, 5]])
    layout: Layout = [[None, 6, 9], [5, 5, 10], [8, 11, 19]]
    assert pinned_figures(layout, truth) == {(0, 0)}
    # A column of total 0 gives its hidden zeros away, and with them the rest of their rows.
    truth = extended([[0, 9], [0, 12]])
    layout = [[None, None, 9], [None, None, 12], [0, 21, 21]]
    assert pinned_figures(layout, truth) == {(0, 0), (1, 0), (0, 1), (1, 1)}


# Properties -----------------------------------------------------------------------------------

counts = st.integers(min_value=0, max_value=9)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(counts, min_size=1, max_size=4))
def test_no_hidden_count_of_a_list_can_be_worked_out(values: list[int]) -> None:
    check_listing(values)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda columns: st.lists(
            st.lists(counts, min_size=columns, max_size=columns), min_size=1, max_size=4
        )
    )
)
def test_no_hidden_figure_of_a_table_can_be_worked_out(cells: list[list[int]]) -> None:
    check_grid(cells)


def test_a_large_table_is_protected_quickly() -> None:
    # The dashboard's size: 200 booths by 8 publics.
    cells = [[(i * 7 + j * 3) % 13 for j in range(8)] for i in range(200)]
    started = time.perf_counter()
    table = disclosure.grid(cells)
    assert time.perf_counter() - started < 5
    assert all(not f.shown for row in table.cells for f in row if f.value < 5)
