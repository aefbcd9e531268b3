"""``digest worker``: runs the queued jobs until SIGTERM or SIGINT.

A stop lets the jobs in hand finish: a send job ends its batch after the messages in
flight (``Context.stop``), leaves the rest pending and queues its continuation for another
worker; then the worker unregisters and the command exits 0. A second signal kills at once.

Every worker sends a heartbeat; one that stopped beating for ``STALLED_AFTER`` seconds
(killed, or its machine lost) is taken for dead, and any live worker puts the jobs it held
back in the queue (``retry_stalled``). Its claimed outbox rows go back to pending when the
retried send job starts (``jobs.outbox``: the holder dead on this host, or its lease over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import TYPE_CHECKING, TextIO

from digest.config.workers import check_shared_key
from digest.jobs.context import Context
from digest.workers.app import (
    CONTEXT_KEY,
    HEARTBEAT,
    NOT_AN_OBJECT,
    QUEUE_KEY,
    STALLED_AFTER,
    make_app,
    queue_errors,
)
from digest.workers.queue import JobQueue

if TYPE_CHECKING:
    from procrastinate import App, JobContext

log = logging.getLogger("digest.worker")
SWEEP_EVERY = HEARTBEAT  # seconds between two looks for a dead worker's jobs
# An idle worker learns of a new job by a notification, but procrastinate forgets the ones
# that arrive while it is fetching (it clears them after its fetch): such a job waited
# for the next poll, 5 s by default (seen with four send jobs queued at once).
POLL_EVERY = 1.0
PRUNE_EVERY = 3600.0  # seconds between two prunings of finished jobs
KEEP_HOURS = 7 * 24  # succeeded jobs (and their reports) kept this long; failed ones stay


def run_worker(ctx: Context, concurrency: int, out: TextIO) -> int:
    """Run jobs with ``concurrency`` at a time until asked to stop; the exit code."""
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ctx.db  # noqa: B018 (opened now: a database it cannot use is refused before ready)
    check_shared_key(ctx.settings.workers, ctx.env.secret_key, "worker")
    with queue_errors("worker", ctx.db.shown):
        asyncio.run(_work(ctx, concurrency, out))
    return 0


async def _work(ctx: Context, concurrency: int, out: TextIO) -> None:
    from procrastinate.worker import Worker

    class DigestWorker(Worker):
        """procrastinate's worker, handing a job whose arguments are no JSON object (an
        array, a string, null: anyone who can write the queue can queue them) to its
        task as one marked argument, which the task refuses (``app.checked_call``):
        procrastinate itself failed while naming such a job, and left it running."""

        async def _process_job(self, context: JobContext) -> None:
            args = context.job.task_kwargs
            if not isinstance(args, dict):
                kind = {list: "array", str: "string", type(None): "null"}.get(
                    type(args), type(args).__name__)
                context = context.evolve(job=context.job.evolve(
                    task_kwargs={NOT_AN_OBJECT: kind}))
            await super()._process_job(context)

    app = make_app(ctx.db.url)
    name = f"{socket.gethostname()}:{os.getpid()}"
    async with app.open_async():
        worker = DigestWorker(app=app, name=name, concurrency=concurrency,
                              install_signal_handlers=False,
                              update_heartbeat_interval=HEARTBEAT,
                              fetch_job_polling_interval=POLL_EVERY,
                              stalled_worker_timeout=STALLED_AFTER,
                              additional_context={CONTEXT_KEY: ctx,
                                                  QUEUE_KEY: JobQueue(app, ctx.settings)})
        loop = asyncio.get_running_loop()

        def stop(signum: int) -> None:
            ctx.stop.set()  # send jobs: finish the messages in flight, leave the rest
            worker.stop()  # type: ignore[no-untyped-call]
            for each in (signal.SIGTERM, signal.SIGINT):  # a second signal kills at once
                loop.remove_signal_handler(each)
                signal.signal(each, signal.SIG_DFL)

        for each in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(each, stop, each)
        running = asyncio.create_task(worker.run())  # type: ignore[no-untyped-call]
        while worker.worker_id is None and not running.done():
            await asyncio.sleep(0.01)
        if not running.done():
            print(f"digest: worker ready (worker {worker.worker_id}, {name}, concurrency "
                  f"{concurrency}; SIGTERM finishes the jobs in hand and exits)",
                  file=out, flush=True)
        sweeper = asyncio.create_task(_sweep(app, ctx))
        try:
            await running
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper


async def _sweep(app: App, ctx: Context) -> None:
    """Now and then, put the jobs of dead workers back in the queue; once an hour, forget
    the jobs that succeeded a week ago, and their reports."""
    pruned_at = 0.0
    loop = asyncio.get_running_loop()
    while True:
        try:
            await retry_stalled(app)
            if loop.time() - pruned_at >= PRUNE_EVERY:
                await app.job_manager.delete_old_jobs(nb_hours=KEEP_HOURS)
                await asyncio.to_thread(_prune_reports, ctx)
                pruned_at = loop.time()
        except Exception:  # the database away for a moment: the next sweep tries again
            log.exception("could not look after the queue")
        await asyncio.sleep(SWEEP_EVERY)


def _prune_reports(ctx: Context) -> None:
    from digest.store import job_queue

    with ctx.db.transaction() as connection:
        job_queue.prune_reports(connection)


async def retry_stalled(app: App) -> int:
    """Queue again the jobs held by workers without a heartbeat for ``STALLED_AFTER``
    seconds; how many. Another worker doing the same first is no error."""
    from procrastinate.exceptions import ProcrastinateException

    retried = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER):
        try:
            await app.job_manager.retry_job(job)
        except ProcrastinateException:
            continue
        log.warning("job %s (%s) of a dead worker queued again", job.id, job.task_name)
        retried += 1
    return retried
