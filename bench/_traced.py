"""Run a module as `python -m` would; on SIGUSR2, tracemalloc starts, then takes a snapshot.

Usage: python bench/_traced.py DIR -m MODULE [ARGS…]   (bench/soak.py --tracemalloc DIR)

The first SIGUSR2 starts tracing (not at start: importing fair traced takes minutes on a loaded
machine, and what is allocated before, warm-up included, is not the question); the second
writes DIR/<pid>.snap (whole, to a temporary name first): what was allocated since and is
still alive, what a soak's RSS growth is made of. Tracing slows the process, and taking the
snapshot stops it for a moment: a tool to find what grows, not for the figures of a run.
`grown` prints the largest of it, by the line that allocated it.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

FRAMES = 8  # frames kept per allocation: enough to see whose call allocated


def main() -> None:
    directory, flag, module, *rest = sys.argv[1:]
    if flag != "-m":
        raise SystemExit(__doc__)

    def signalled(signum: int, frame: FrameType | None) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)
            return
        path = Path(directory) / f"{os.getpid()}.snap"
        tracemalloc.take_snapshot().dump(str(path.with_suffix(".part")))
        path.with_suffix(".part").rename(path)
        tracemalloc.stop()

    signal.signal(signal.SIGUSR2, signalled)
    sys.argv = [module, *rest]
    sys.path[0] = os.getcwd()  # as `python -m` has it, not this script's directory
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def grown(path: Path, top: int = 12) -> list[str]:
    """The largest of what a snapshot holds (allocated since tracing started, still alive),
    by line; the total first."""
    ignored = [tracemalloc.Filter(False, tracemalloc.__file__)]
    stats = tracemalloc.Snapshot.load(str(path)).filter_traces(ignored).statistics("lineno")
    total = sum(stat.size for stat in stats)
    lines = [f"{total / 1024:10.1f} KiB in all, in {sum(s.count for s in stats):,} blocks"]
    for stat in stats[:top]:
        where = stat.traceback[0]
        lines.append(
            f"{stat.size / 1024:10.1f} KiB {stat.count:8d} blocks  "
            f"{where.filename.split('site-packages/')[-1]}:{where.lineno}"
        )
    return lines


if __name__ == "__main__":
    main()
