"""Webconference relay memory: fair's ForwardingRelay over a long run with viewers joining and
leaving; the media process's memory must stay flat.

Usage: .venv/bin/python bench/relay_memory.py [--minutes 10] [--viewers 40] [--churn 4]
                                              [--interval 5] [--warmup 60] [--sample 5]
                                              [--settle 5]

The processes are bench/relay.py's (`--serve-relay forward PORT`, `--publish PORT`), plus one
churning viewer process (`--churn-viewers PORT N CHURN INTERVAL`): `--viewers` counting bots
(`bench.relay.Bot`) join, then every `--interval` seconds `--churn` of them, drawn at random,
leave (the media process unsubscribes them from the relay and closes their peer connection, then
the bot closes its own) and as many new ones join. The media process's RSS is read every
`--sample` (5) seconds and printed every 30 s; at the end the mean RSS of the first minute after
`--warmup` is compared with the last minute's. The goal, "flat": growth under 10 %. Then the
media process's peer connections, asyncio tasks and live aiortc/relay objects are compared with
the steady state's (same number of viewers), and counted once every viewer has left (after
`--settle` (5) seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from _harness import Children, free_port  # noqa: E402
from relay import Bot, control, expect, setup_aiortc, spawn  # noqa: E402

GOAL_GROWTH = 0.10  # "flat": the last minute's mean RSS at most 10 % above the first minute's
SAMPLE_SECONDS, PRINT_SECONDS = 5.0, 30.0


# The churning viewers ------------------------------------------------------------------------


async def churn(port: int, count: int, change: int, interval: float) -> None:
    """`count` bots; every `interval` seconds `change` leave and as many join. Commands on
    stdin: `stats` (print the counts), `stop` (stop churning), `leave` (every bot leaves)."""
    os.nice(5)  # the load generator yields to the media process and the publisher
    setup_aiortc()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(5)
    bots: list[Bot] = []
    joined_at: dict[Bot, float] = {}
    first_frame_ms: list[float] = []
    stats = {"joins": 0, "leaves": 0, "left_without_video": 0, "no_video_yet": 0}
    lock = asyncio.Lock()  # one signalling exchange at a time on the control socket

    async def join() -> None:
        bot = Bot()
        await bot.join(reader, writer)
        bots.append(bot)
        joined_at[bot] = time.monotonic()
        stats["joins"] += 1

    async def leave(bot: Bot) -> None:
        bots.remove(bot)
        joined_at.pop(bot, None)
        stats["left_without_video"] += not bot.streams["video"].frames
        await bot.leave(reader, writer, bot.id)
        stats["leaves"] += 1

    async def watch() -> None:  # time from a join to its first complete video frame
        while True:
            now = time.monotonic()
            for bot, since in list(joined_at.items()):
                if bot.streams["video"].frames:
                    first_frame_ms.append((now - since) * 1000)
                    del joined_at[bot]
            await asyncio.sleep(0.05)

    async def rounds() -> None:
        while True:
            await asyncio.sleep(interval)
            async with lock:
                for bot in rng.sample(bots, min(change, len(bots))):
                    await leave(bot)
                for _ in range(change):
                    await join()

    def report() -> dict[str, Any]:
        ms = sorted(first_frame_ms)
        return {
            **stats,
            "viewers": len(bots),
            "no_video_yet": len(joined_at),
            "first_frame_ms_p50": ms[len(ms) // 2] if ms else None,
            "first_frame_ms_max": ms[-1] if ms else None,
        }

    async with lock:
        for _ in range(count):
            await join()
    watcher = asyncio.create_task(watch())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and joined_at:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    print(json.dumps({"connected": count - len(joined_at)}), flush=True)
    churner = asyncio.create_task(rounds())
    loop = asyncio.get_running_loop()
    while command := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        if command == "stop":
            async with lock:
                churner.cancel()
        elif command == "leave":
            async with lock:
                churner.cancel()
                for bot in list(bots):
                    await leave(bot)
        print(json.dumps(report()), flush=True)
    watcher.cancel()
    for bot in bots:
        await bot.pc.close()


# The orchestrator ----------------------------------------------------------------------------


def command(process: subprocess.Popen[str], line: str, timeout: float = 60) -> dict[str, Any]:
    process.stdin.write(line + "\n")  # type: ignore[union-attr]
    process.stdin.flush()  # type: ignore[union-attr]
    return dict(json.loads(expect(process, timeout)))


def mib(kib: float) -> str:
    return f"{kib / 1024:7.1f}"


def snapshot(label: str, stats: dict[str, Any]) -> str:
    objects = " ".join(f"{k}={v}" for k, v in stats.get("objects", {}).items())
    return (
        f"{label:<22} pcs {stats['pcs']:>3} (open {stats['pcs_open']:>3})  relay viewers "
        f"{stats['relay_viewers']:>3} entries {stats['relay_entries']:>3} pli tasks "
        f"{stats['relay_tasks']}  asyncio tasks {stats['tasks']:>4}  threads {stats['threads']:>3}"
        f"  fds {stats['fds']:>4}  RSS {mib(stats['rss_kib'])} MiB\n{'':<22} {objects}"
    )


def run(args: argparse.Namespace) -> None:
    duration = args.minutes * 60
    warmup = min(args.warmup, duration / 4)
    window = min(60.0, (duration - warmup) / 2)
    port = free_port()
    if args.tracemalloc:
        os.environ["BENCH_TRACEMALLOC"] = "1"  # read by the media process only
    with Children() as children:
        expect(spawn(children, "--serve-relay", "forward", str(port)), 20)
        expect(spawn(children, "--publish", str(port)), 30)
        viewers = spawn(
            children,
            "--churn-viewers",
            str(port),
            str(args.viewers),
            str(args.churn),
            str(args.interval),
            script=__file__,
        )
        connected = json.loads(expect(viewers, 120))["connected"]
        print(
            f"{os.cpu_count()} CPUs; {args.viewers} viewers ({connected} with video), "
            f"{args.churn} leave and {args.churn} join every {args.interval:g} s, "
            f"{args.minutes:g} min; warm-up {warmup:.0f} s, compared windows {window:.0f} s; "
            f"goal: RSS growth < {GOAL_GROWTH:.0%}",
            flush=True,
        )
        print(
            f"{'time s':>7}{'RSS MiB':>9}{'peak MiB':>9}{'joins':>7}{'leaves':>7}{'viewers':>8}"
            f"{'pcs':>5}{'tasks':>6}{'fds':>5}{'cores':>7}  first frame p50/max ms, no video",
            flush=True,
        )
        start = time.monotonic()
        samples: list[tuple[float, int]] = []
        steady: dict[str, Any] | None = None
        usage = control(port, {"op": "usage"})
        last_print, last_cpu = -PRINT_SECONDS, (usage["cpu"], usage["wall"])
        while (elapsed := time.monotonic() - start) < duration:
            stats = control(port, {"op": "stats"})
            samples.append((elapsed, stats["rss_kib"]))
            if steady is None and elapsed >= warmup:
                steady = control(port, {"op": "stats", "objects": True})
                if args.tracemalloc:
                    control(port, {"op": "trace", "mark": True})
            if elapsed - last_print >= PRINT_SECONDS - 0.5:
                usage = control(port, {"op": "usage"})
                cores = (usage["cpu"] - last_cpu[0]) / (usage["wall"] - last_cpu[1])
                last_cpu, last_print = (usage["cpu"], usage["wall"]), elapsed
                churned = command(viewers, "stats")
                print(
                    f"{elapsed:>7.0f}{mib(stats['rss_kib']):>9}{mib(stats['maxrss_kib']):>9}"
                    f"{stats['joined']:>7}{stats['left']:>7}{stats['relay_viewers']:>8}"
                    f"{stats['pcs']:>5}{stats['tasks']:>6}{stats['fds']:>5}{cores:>7.2f}  "
                    f"{churned['first_frame_ms_p50'] or 0:.0f}/"
                    f"{churned['first_frame_ms_max'] or 0:.0f}, "
                    f"{churned['left_without_video']} left without",
                    flush=True,
                )
            time.sleep(max(0.0, start + len(samples) * args.sample - time.monotonic()))
        churned = command(viewers, "stop")
        time.sleep(min(2.0, args.settle))
        end = control(port, {"op": "stats", "objects": True})
        traced = control(port, {"op": "trace"}) if args.tracemalloc else None
        gone = command(viewers, "leave", timeout=120)
        time.sleep(args.settle)
        empty = control(port, {"op": "stats", "objects": True, "trim": True})

    first = [rss for t, rss in samples if warmup <= t < warmup + window]
    last = [rss for t, rss in samples if t >= duration - window]
    before, after = statistics.mean(first), statistics.mean(last)
    growth = (after - before) / before
    late = [(t, rss) for t, rss in samples if t >= warmup]
    slope = 0.0
    if len(late) > 2:
        slope = statistics.linear_regression([t for t, _ in late], [r for _, r in late]).slope
    print(
        f"\njoins {churned['joins']}, leaves {churned['leaves']}; first video frame of a joining "
        f"viewer p50 {churned['first_frame_ms_p50'] or 0:.0f} ms, max "
        f"{churned['first_frame_ms_max'] or 0:.0f} ms; {churned['left_without_video']} left "
        f"before any video, {churned['no_video_yet']} still waiting at the end"
    )
    print(
        f"RSS first {window:.0f} s after warm-up {mib(before).strip()} MiB, last {window:.0f} s "
        f"{mib(after).strip()} MiB: {growth:+.1%} ({(after - before) / 1024:+.1f} MiB; trend "
        f"{slope * 60 / 1024:+.2f} MiB/min; peak {mib(empty['maxrss_kib']).strip()} MiB); "
        f"goal < {GOAL_GROWTH:.0%}: {'ok' if growth < GOAL_GROWTH else 'MISSED'}"
    )
    assert steady is not None
    print(snapshot("steady (after warm-up)", steady))
    print(snapshot(f"end ({end['relay_viewers']} viewers)", end))
    print(snapshot(f"all left ({gone['leaves']} leaves)", empty))
    print(
        f"{'':<22} RSS after malloc_trim(0): {mib(empty['trimmed_rss_kib']).strip()} MiB (freed "
        "heap that glibc kept; what remains is in use or fragmented)"
    )
    objects = ("RTCPeerConnection", "RTCRtpSender", "_Leg")
    leaks = []
    for name in ("pcs", "pcs_open", "relay_viewers", "relay_entries"):
        if end[name] != steady[name]:
            leaks.append(f"{name} {steady[name]} -> {end[name]}")
    if end["tasks"] > steady["tasks"] + 5:
        leaks.append(f"asyncio tasks {steady['tasks']} -> {end['tasks']}")
    for name in objects:
        if end["objects"][name] > steady["objects"][name]:
            leaks.append(f"{name} {steady['objects'][name]} -> {end['objects'][name]}")
    # with no viewer left: the publisher's connection (2 transceivers) and nothing of the relay
    expected_empty = {"RTCPeerConnection": 1, "RTCRtpSender": 2, "_Leg": 0}
    for name, count in expected_empty.items():
        if empty["objects"][name] != count:
            leaks.append(f"{name} {empty['objects'][name]} once all left (expected {count})")
    if empty["relay_viewers"] or empty["relay_entries"] or empty["pcs"] != 1:
        leaks.append("relay or peer connections not empty once all left")
    print("leaks: " + ("none found" if not leaks else "; ".join(leaks)))
    if end["publisher"] != "connected":
        print(
            f"INVALID: the publisher's connection was {end['publisher']} at the end (a starved "
            "media process misses ICE consent checks; see stderr for when): media stopped flowing"
        )
    if traced is not None:
        print(
            f"tracemalloc: Python allocations {traced['marked_kib'] / 1024:.1f} MiB after warm-up, "
            f"{traced['traced_kib'] / 1024:.1f} MiB at the end; grew most:"
        )
        for line in traced["top"]:
            print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--viewers", type=int, default=40)
    parser.add_argument("--churn", type=int, default=4)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument(
        "--sample", type=float, default=SAMPLE_SECONDS, help="seconds between two RSS readings"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="seconds given to closing connections before the last counts",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the media process's Python allocations (slower) and print where they grew",
    )
    parser.add_argument("--churn-viewers", nargs=4, metavar=("PORT", "N", "CHURN", "INTERVAL"))
    args = parser.parse_args()
    if args.churn_viewers:
        port, count, change, interval = args.churn_viewers
        return asyncio.run(churn(int(port), int(count), int(change), float(interval)))
    run(args)


if __name__ == "__main__":
    main()
