"""Background work: the mail and webhook outboxes (fair.webhook_delivery: every 5 s and after
each commit that queued deliveries, claimed with a lease, posted outside any transaction),
interview and webconference reminders, interview offers, queue calls, presence, the
recruiters' hourly digests of new applications, the follow-ups after editions (J+30, J+90,
J+180, fair.follow_ups), the CV pool's reminders and late CV texts (fair.pool_mail,
fair.cv_text), the organisers' live panels (every 3 s, only for watched live
editions, fair.live_panel), the retention rule of personal data (daily, fair.retention),
the candidates' mail alerts (fair.alerts), the network of territories' pulls and sends
(fair.network_sync, fair.network_applications); and, in every web process, the writing of its
own tally of page views (`run_activity`).

In the embedded default these loops run inside the server process (FAIR_BACKGROUND_TASKS, on by
default). Scaled out, `fair worker` runs them in a process of its own and the web processes set
FAIR_BACKGROUND_TASKS=false (see the Procfile). Every round is one transaction whose events are
published after its commit; rows are taken with SKIP LOCKED where two workers could meet, and a
reminder is recorded in the transaction that queues its mail, so a restart sends nothing twice.

The page-view tally (fair.activity) is held in each web process's memory, so each web process
writes its own, whatever FAIR_BACKGROUND_TASKS says: the app's lifespan always starts
`run_activity`, and stopping it writes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    activity,
    alerts,
    application_mail,
    clock,
    cv_text,
    db,
    follow_ups,
    geo,
    interviews,
    live_panel,
    mail,
    metrics,
    network,
    network_applications,
    network_pool,
    network_sync,
    pool_mail,
    presence,
    queues,
    retention,
    settings,
    surveys,
    unit_of_work,
    webconferences,
    webhook_delivery,
)
from fair.app_state import AppState, Resources
from fair.broadcast import Broadcaster

# The funnel's kept steps follow every commit of every process that writes (fair.app and
# fair.cli import this module): importing fair.insight.progress installs its listeners.
from fair.insight import progress  # noqa: F401
from fair.search import order as search_order
from fair.webconferences import recordings

log = logging.getLogger("fair.worker")
INTERVIEW_ROUND_SECONDS = 30.0
DIGEST_ROUND_SECONDS = 60.0
ACTIVITY_ROUND_SECONDS = 30.0
FOLLOW_UP_ROUND_SECONDS = 300.0
SURVEY_ROUND_SECONDS = 300.0
POOL_ROUND_SECONDS = 600.0
FOLLOW_UP_STEPS = 40  # steps of at most a block of mails each (fair.follow_ups) per round
RETENTION_ROUND_SECONDS = 24 * 3600.0
ALERT_ROUND_SECONDS = 600.0
SEARCH_ORDER_ROUND_SECONDS = 3600.0
RETENTION_STEPS = 500  # batches of candidates (fair.retention) per daily round, at most


async def search_order_round(state: Resources) -> int:
    """Put PostgreSQL's narrow copy of the offers back in ROME order when it has drifted, at
    night (fair.search.order); returns 1 if it did."""
    if not search_order.quiet(clock.now()):
        return 0
    return int(await search_order.keep_in_order(state.engine))


async def interview_round(state: Resources) -> int:
    """Pass expired waiting-list offers on, then send due interview and webconference
    reminders, and fail recordings whose stage died; returns reminders sent."""

    async def work(session: AsyncSession) -> int:
        await interviews.expire_offers(session)
        await recordings.sweep(session)
        sent = await interviews.send_reminders(session)
        return sent + await webconferences.send_reminders(session)

    sent: int = await unit_of_work.write(state.write_sessions, state.broadcast, work)
    return sent


async def digest_round(state: Resources) -> int:
    """Mail the recruiters of booths with new applications (one digest an hour per booth)."""
    sent: int = await unit_of_work.write(
        state.write_sessions, state.broadcast, application_mail.send_digests
    )
    return sent


async def follow_up_round(state: Resources) -> int:
    """Mail the follow-ups due after editions (fair.follow_ups), a step per transaction (at most
    a block of mails each), up to FOLLOW_UP_STEPS a round: a mailing to thousands goes out over
    a few rounds without holding the write lock for long; returns the mails queued."""
    queued = 0
    for _step in range(FOLLOW_UP_STEPS):
        done: int | None = await unit_of_work.write(
            state.write_sessions, state.broadcast, follow_ups.step
        )
        if done is None:
            break
        queued += done
    return queued


async def survey_round(state: Resources) -> int:
    """Mail the satisfaction survey of the editions just over, once each (fair.surveys)."""
    sent: int = await unit_of_work.write(state.write_sessions, state.broadcast, surveys.invite)
    return sent


async def alert_round(state: Resources) -> int:
    """Mail the candidates' daily alerts whose day has come (fair.alerts), a step of alerts
    per transaction until none is due; returns how many alerts were handled."""
    done = 0
    while True:
        count: int = await unit_of_work.write(
            state.write_sessions, state.broadcast, alerts.send_due
        )
        done += count
        if count < alerts.STEP:
            return done


async def retention_round(state: Resources) -> int:
    """Remove the CVs and messages the retention rule says are due (fair.retention), a batch
    of candidates per transaction until none is left; returns how many candidates."""
    done = 0
    for _step in range(RETENTION_STEPS):
        count: int = await unit_of_work.write(state.write_sessions, state.broadcast, retention.step)
        done += count
        if count < retention.BATCH:
            break
    return done


async def network_round(state: Resources) -> int:
    """The network of territories (docs/NETWORK.md): pull the partners' offers, send the
    applications queued for partners' offers, pull their statuses back and the answers to our
    contact requests to partners' pool profiles (fair.network_pool), and forget the signed
    requests' ids past the replay window; returns the offers, applications and contact
    requests that changed.
    No transaction is open while a request to a partner is in flight."""
    done: int = await network_sync.run_round(state.write_sessions)
    done += await network_applications.send_round(state.write_sessions)
    done += await network_applications.status_round(state.write_sessions)
    done += await network_pool.contact_round(state.write_sessions)
    await unit_of_work.write(state.write_sessions, state.broadcast, network.forget_old)
    return done


async def pool_round(state: Resources) -> int:
    """The CV pool: mail the reminders of consents ending soon (fair.pool_mail), then extract
    the text of CVs not yet read (fair.cv_text: CVs stored before it existed), each read in a
    thread outside any write transaction; returns reminders and texts done."""
    done: int = await unit_of_work.write(
        state.write_sessions, state.broadcast, pool_mail.send_reminders
    )
    stale = await unit_of_work.read(state.read_sessions, state.broadcast, cv_text.stale)
    for user_id, file_id in stale:
        data = await unit_of_work.read(
            state.read_sessions,
            state.broadcast,
            functools.partial(cv_text.file_data, file_id=file_id),
        )
        if data is None:
            continue
        extracted = await cv_text.extract(data)
        store = functools.partial(
            cv_text.store, user_id=user_id, file_id=file_id, extracted=extracted
        )
        done += int(await unit_of_work.write(state.write_sessions, state.broadcast, store))
    return done


async def live_panel_round(state: Resources, published: live_panel.Published) -> int:
    """Publish the live panel of each live edition an organiser watches, when it changed
    (fair.live_panel: at most one `panel` event per edition per round); returns events sent."""

    async def work(session: AsyncSession) -> int:
        return await live_panel.publish_changes(
            session, published, followed=state.broadcast.listened
        )

    sent: int = await unit_of_work.read(state.read_sessions, state.broadcast, work)
    return sent


async def run_call_expiry(state: Resources, *, interval: float = 5.0) -> None:
    """Every `interval` seconds, skip unanswered queue calls and remove the booth presence of
    sockets whose process died."""
    while True:
        await asyncio.sleep(interval)
        try:
            await unit_of_work.write(state.write_sessions, state.broadcast, queues.expire_calls)
        except Exception as exc:  # a busy database: the next round retries
            db.report(log, exc, "expiring queue calls")
        try:
            await unit_of_work.write(state.write_sessions, state.broadcast, presence.expire)
        except Exception as exc:
            db.report(log, exc, "expiring booth presence")


async def activity_round(state: AppState) -> int:
    """Write this process's tally of page views and active candidates (fair.activity) in a unit
    of work of its own; returns the rows written. On failure the tally gets it back."""
    taken = state.activity.take()
    if taken.dropped:
        log.warning("%d page views were dropped: the tally was full", taken.dropped)
    if not taken:
        return 0
    try:
        written: int = await unit_of_work.write(
            state.write_sessions, state.broadcast, functools.partial(activity.save, taken=taken)
        )
    except BaseException:
        taken.dropped = 0  # logged above
        state.activity.restore(taken)
        raise
    return written


async def run_activity(state: AppState, *, interval: float = ACTIVITY_ROUND_SECONDS) -> None:
    """Every `interval` seconds, or at once when the tally is full, write it; when cancelled
    (the app stopping), write what is left before ending."""
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.activity.full.wait(), timeout=interval)
            try:
                await activity_round(state)
            except Exception as exc:  # a busy database: the tally keeps it, the next round retries
                db.report(log, exc, "writing page views")
    finally:
        try:
            await activity_round(state)
        except Exception as exc:
            db.report(log, exc, "writing the last page views")


async def every(
    round_: Callable[[Resources], Awaitable[int]],
    state: Resources,
    *,
    interval: float,
    name: str,
) -> None:
    """Run `round_(state)` every `interval` seconds; a failed round is logged, the next retries."""
    while True:
        try:
            await round_(state)
        except Exception as exc:  # a busy database: the next round retries
            db.report(log, exc, f"the {name} round")
        await asyncio.sleep(interval)


def start(state: Resources) -> list[asyncio.Task[None]]:
    """Start every background loop on `state` (the worker's, or the web app's AppState)."""
    panel = functools.partial(live_panel_round, published=live_panel.Published())
    return [
        asyncio.create_task(mail.run_sender(state.write_sessions)),
        asyncio.create_task(webhook_delivery.run_sender(state.write_sessions)),
        asyncio.create_task(db.run_statistics(state.engine)),
        asyncio.create_task(run_call_expiry(state)),
        asyncio.create_task(
            every(interview_round, state, interval=INTERVIEW_ROUND_SECONDS, name="interview")
        ),
        asyncio.create_task(
            every(digest_round, state, interval=DIGEST_ROUND_SECONDS, name="digest")
        ),
        asyncio.create_task(every(panel, state, interval=live_panel.PERIOD, name="live panel")),
        asyncio.create_task(
            every(follow_up_round, state, interval=FOLLOW_UP_ROUND_SECONDS, name="follow-up")
        ),
        asyncio.create_task(
            every(survey_round, state, interval=SURVEY_ROUND_SECONDS, name="survey")
        ),
        asyncio.create_task(every(pool_round, state, interval=POOL_ROUND_SECONDS, name="pool")),
        asyncio.create_task(
            every(retention_round, state, interval=RETENTION_ROUND_SECONDS, name="retention")
        ),
        asyncio.create_task(every(alert_round, state, interval=ALERT_ROUND_SECONDS, name="alert")),
        asyncio.create_task(
            every(
                search_order_round,
                state,
                interval=SEARCH_ORDER_ROUND_SECONDS,
                name="search order",
            )
        ),
        asyncio.create_task(
            every(
                network_round, state, interval=settings.get().network_sync_seconds, name="network"
            )
        ),
    ]


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def resources(conf: settings.Settings) -> Resources:
    """The worker's engine (the configured pool and timeouts, fair.db) and broadcaster, not yet
    connected."""
    state = Resources()
    broadcast = Broadcaster(conf.broadcast_url, namespace=conf.broadcast_channel_namespace)
    state.set_up(db.configured_engine(conf), broadcast)
    return state


async def run(conf: settings.Settings) -> None:
    """`fair worker`: run the loops until SIGINT or SIGTERM."""
    await asyncio.to_thread(geo.load)  # the commune list, read once, not on the event loop
    state = resources(conf)
    engine, broadcast = state.engine, state.broadcast
    await broadcast.connect()  # BroadcastError: Redis unreachable at start-up
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    tasks = start(state)
    log.info("worker started")
    try:
        await stopping.wait()
    finally:
        await stop(tasks)
        await broadcast.disconnect()
        await engine.dispose()
        metrics.process_stopped()
        log.info("worker stopped")
