"""fair.ttl_cache: bounded in values and weight, expiring, least recently used dropped first.
The cache's clock is one the test moves."""

from __future__ import annotations

from fair.ttl_cache import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_past_its_size_the_least_recently_used_goes_first() -> None:
    dropped: list[tuple[str, int]] = []
    cache: TTLCache[str, int] = TTLCache(
        seconds=10, size=3, on_drop=lambda k, v: dropped.append((k, v))
    )
    for n, key in enumerate("abc"):
        cache.put(key, n)
    assert cache.get("a") == 0  # read: now the most recently used
    cache.put("b", 11)  # put again: the most recently used too, in place of the old value
    cache.put("d", 3)
    assert (list(cache), dropped) == (["a", "b", "d"], [("b", 1), ("c", 2)])
    assert [cache.get(k) for k in "abcd"] == [0, 11, None, 3]
    assert len(cache) == 3


def test_a_value_expires_after_its_seconds_or_fewer_as_put() -> None:
    clock = Clock()
    cache: TTLCache[str, str | None] = TTLCache(seconds=5, size=10, clock=clock)
    cache.put("long", "x")
    cache.put("short", "y", seconds=1)
    cache.put("longer", "z", seconds=60)  # never past the cache's seconds
    clock.now += 0.999
    assert [cache.get(k) for k in ("long", "short", "longer")] == ["x", "y", "z"]
    clock.now += 0.001
    assert [cache.get(k) for k in ("long", "short")] == ["x", None]
    assert list(cache) == ["longer", "long"]  # the stale one dropped when read
    clock.now += 4
    assert [cache.get(k) for k in ("long", "longer")] == [None, None]
    assert len(cache) == 0


def test_a_value_put_later_than_now_is_not_fresh_yet() -> None:
    # The page cache stores a page as of its render (fair.clock, which tests move back).
    cache: TTLCache[str, int] = TTLCache(seconds=5, size=10, clock=Clock())
    cache.put("k", 1, now=50.0)
    assert cache.get("k", now=49.9) is None
    cache.put("k", 1, now=50.0)
    assert [cache.get("k", now=50.0), cache.get("k", now=54.9), cache.get("k", now=55.0)] == [
        1,
        1,
        None,
    ]


def test_weighed_values_stay_under_the_weight() -> None:
    cache: TTLCache[str, bytes] = TTLCache(seconds=5, size=10, weigh=len, max_weight=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.weight == 8
    cache.put("c", b"123")  # 11 > 10: the least recently used goes
    assert (list(cache), cache.weight) == (["b", "c"], 7)
    cache.put("b", b"1")
    assert (list(cache), cache.weight) == (["c", "b"], 4)
    assert (cache.pop("c"), cache.pop("c"), cache.weight) == (b"123", None, 1)
    cache.put("huge", b"x" * 11)  # heavier than all allowed: nothing stays
    assert (list(cache), cache.weight) == ([], 0)


def test_clear_empties_it_without_telling() -> None:
    dropped: list[str] = []
    cache: TTLCache[str, int] = TTLCache(
        seconds=5,
        size=10,
        weigh=lambda v: v,
        max_weight=100,
        on_drop=lambda k, v: dropped.append(k),
    )
    cache.put("a", 3)
    cache.clear()
    assert (len(cache), cache.weight, cache.get("a"), dropped) == (0, 0, None, [])
