"""Pages of results: the offer search (fair.search), the CV pool (fair.cv_pool) and the booth
hall (fair.hall) number their pages the same way, here."""

from __future__ import annotations

MAX_PAGE = 500  # no list is paged further: past it, narrow the search


class Paged:
    """A page of results: `total` matches, `per_page` a page, this one is number `page`.
    Mixed into the result dataclasses, which declare those fields."""

    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """The pages known: with a capped count (the offer search's), those up to its cap."""
        return max(1, -(-self.total // self.per_page))


def clamp(page: int, last: int = MAX_PAGE) -> int:
    """A requested page number within 1 .. `last`."""
    return min(max(page, 1), last)
