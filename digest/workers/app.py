"""The procrastinate ``App`` over the store's PostgreSQL, and the names of its tasks.

The names are what ``digest status`` shows and what the jobs' rows in
``procrastinate_jobs`` carry, so they never change. A failing job is tried again with an
exponential back-off (2, 4, 8, 16 s), then left ``failed`` for ``digest status`` (one refused
for its arguments at once); a job whose worker died (no heartbeat for ``STALLED_AFTER``
seconds) is put back in the queue by any live worker (``worker.retry_stalled``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from digest.config.workers import HEARTBEAT, STALLED_AFTER
from digest.errors import DigestError, InputError

__all__ = ["HEARTBEAT", "STALLED_AFTER", "TASKS", "QueueLostError", "make_app", "queue_errors",
           "retry_strategy"]

if TYPE_CHECKING:
    from procrastinate import App, JobContext
    from procrastinate.jobs import Job
    from procrastinate.retry import BaseRetryStrategy, RetryDecision

POLL_SOURCE = "digest.poll_source"  # lock source:<id>
MAKE_EDITION = "digest.make_edition"  # lock edition:<digest>:<slot>
SEND_OUTBOX = "digest.send_outbox"  # claims rows itself (the outbox); queueing lock per part
HOUSEKEEPING = "digest.housekeeping"  # lock publish (it writes the feeds)
PUBLISH_FEEDS = "digest.publish_feeds"  # lock publish
READ_BOUNCES = "digest.read_bounces"  # lock bounces
TASKS = (POLL_SOURCE, MAKE_EDITION, SEND_OUTBOX, HOUSEKEEPING, PUBLISH_FEEDS, READ_BOUNCES)

MAX_RETRIES = 4  # then the job stays failed (digest status)
RETRY_BASE = 2  # seconds: 2, 4, 8, 16
# The context key under which a worker hands its digest Context to the tasks.
CONTEXT_KEY = "digest"
QUEUE_KEY = "digest_queue"  # and its JobQueue, for the jobs a job queues


def make_app(url: str) -> App:
    """An App over ``url`` (the store's, ``postgresql://``) with every task registered;
    open it (``app.open()`` to queue from plain code, ``open_async`` in a worker)."""
    from procrastinate import App, PsycopgConnector

    from digest.workers import tasks

    app = App(connector=PsycopgConnector(conninfo=url))
    retry = retry_strategy()
    for name, body in tasks.BODIES.items():
        app.task(name=name, pass_context=True, retry=retry)(checked_call(name, body))
    return app


# The argument a worker gives in place of a job's arguments that are no JSON object
# (``worker.DigestWorker``): procrastinate cannot even name such a job, and left it running.
NOT_AN_OBJECT = "__arguments_not_an_object__"


def checked_call(name: str, body: Callable[..., None]) -> Callable[..., None]:
    """``body`` refusing (``InputError``: failed at once, not tried again) a job whose
    arguments do not fit its parameters (one missing, one unknown, or no JSON object):
    anyone who can write ``procrastinate_jobs`` can queue any arguments, and a retry
    cannot change them."""
    signature = inspect.signature(body)

    @functools.wraps(body)
    def call(job: JobContext, **args: Any) -> None:
        if NOT_AN_OBJECT in args:
            raise InputError(f"job {job.job.id} ({name}): its arguments are a JSON "
                             f"{args[NOT_AN_OBJECT]}, not an object: not run")
        try:
            signature.bind(job, **args)
        except TypeError as exc:
            raise InputError(f"job {job.job.id} ({name}): its arguments do not fit: {exc}; "
                             "not run") from None
        body(job, **args)

    return call


def retry_strategy() -> BaseRetryStrategy:
    """Retry with back-off what may pass next time (the store, the network, a crash), but
    never a job refused for what it asks (``InputError``: a source or digest removed from
    the config since it was queued, an edition not in the store): trying again cannot make
    it succeed, so it is failed at once (``digest status``)."""
    from procrastinate import RetryStrategy

    class RetryUnlessRefused(RetryStrategy):
        def get_retry_decision(self, *, exception: BaseException,
                               job: Job) -> RetryDecision | None:
            if isinstance(exception, InputError):
                return None
            return super().get_retry_decision(exception=exception, job=job)

    return RetryUnlessRefused(max_attempts=MAX_RETRIES, exponential_wait=RETRY_BASE)


class QueueLostError(DigestError):
    """The queue's database failed under a command (gone, or its tables missing): one line
    naming the cause, exit 1 (operational; a supervisor such as systemd starts a worker
    again)."""

    exit_code = 1


@contextmanager
def queue_errors(what: str, shown_url: str) -> Iterator[None]:
    """Turn procrastinate's and the driver's errors into a ``QueueLostError``: ``what``
    stopped, the queue at ``shown_url`` (without its password) failed, and why.
    procrastinate's own message is a bare "Database error.": the driver's, its cause,
    is the one that tells (a table missing, the server gone)."""
    import psycopg
    from procrastinate.exceptions import ProcrastinateException

    try:
        yield
    except (ProcrastinateException, psycopg.Error) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
        first = (str(cause).strip().splitlines() or [""])[0]
        raise QueueLostError(f"{what} stopped: the queue at {shown_url} failed: "
                             f"{cause.__class__.__name__}: {first}") from exc
