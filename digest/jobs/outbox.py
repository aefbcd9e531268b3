"""Turning an edition's pending outbox rows into messages: claimed, sent, recorded.

The decision to send (which rows exist) is made before this runs and kept in the store; this
module only works through the rows. Per row:

1. **claim** it, with a few more (``pending`` → ``sending`` with this process's name and a
   lease; ``store.claims``: processes claiming at once take different rows), so two
   processes never send one row;
2. **build** the message from bytes prepared once per variant (``MessageFactory``) and the
   member's signed links, and wait for the global rate (``delivery.rate``);
3. **hand it over** on one of ``delivery.concurrency`` connections;
4. **record** the answer: ``sent`` after a 250, committed with the other connections' 250s
   of the moment in one commit (``marks.GroupCommit``), the connection waiting for that
   commit before its next message; ``failed`` with the server's answer on a 5xx (a "user
   unknown" also marks the member ``bounced``), back to ``pending`` with an exponential
   back-off on a 4xx, ``failed`` after ``max_attempts``.

A crash between 3 and 4 leaves the row ``sending``; the next run returns it to ``pending``
(its holder is a dead process of this machine, or its lease lapsed) and sends it again: at
most one duplicate per connection, the message the server accepted in the instant before
the crash. Message-IDs are derived from the edition and the address, so such a message
keeps its Message-ID (and the file transport overwrites the same file).

A session failure (connection refused, login refused) stops the edition's batch at once:
every other row would fail the same way, and it is not the members' fault, so their rows
stay ``pending`` without an attempt counted. A coordinator's pause or cancel (the
edition's status, read with every record) ends the batch the same way. SIGTERM
(``Context.stop_on_sigterm``) lets the messages in flight finish and leaves the rest
``pending``. The pace and the retries are ``policy``'s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from datetime import timedelta
from functools import partial

from sqlalchemy import Connection

from digest.bounces.verp import verp_address
from digest.jobs.context import Context
from digest.jobs.marks import GroupCommit, Mark, hand_over
from digest.jobs.policy import RateLimiter, RetryPolicy, is_unknown_user
from digest.jobs.send_outcome import MissingVariantError as MissingVariantError
from digest.jobs.send_outcome import SendOutcome as SendOutcome  # re-exported
from digest.jobs.senders import LIVE_HOLDERS, new_holder
from digest.jobs.senders import holder_is_dead as holder_is_dead  # re-exported: the
from digest.jobs.senders import release_stale as release_stale  # workers' interface
from digest.links import preferences_url, unsubscribe_url
from digest.mail.message import MessageFactory, Recipient, make_list_id, make_message_id
from digest.mail.transports import (
    PermanentFailure,
    SessionFailure,
    TemporaryFailure,
    Transport,
)
from digest.models import Delivery, EditionStatus, RenderedEmail, Subscriber, SubscriberStatus
from digest.store import claims, deliveries, editions, subscribers
from digest.store.editions import EditionRow
from digest.tokens import make_token

COMMITTERS = ("marks-0", "marks-1")  # connections for marks: a second commits while one is busy
CLAIM_SIZE = 100  # rows per claim at most (25 per connection): a statement per 100 messages
LEASE = timedelta(minutes=15)  # far beyond one message's time; only matters after a crash


def recipient_for(ctx: Context, member: Subscriber, digest_id: str | None = None) -> Recipient:
    """A member's address, name and signed links for one message; ``digest_id`` is the
    digest whose one-click unsubscribe the message carries (``stopped_by``)."""
    assert member.id is not None
    settings, secret = ctx.settings, ctx.secret
    return Recipient(
        email=member.email, name=member.name,
        unsubscribe_url=unsubscribe_url(settings, make_token(secret, member.id, "unsubscribe"),
                                        digest_id),
        preferences_url=preferences_url(settings, make_token(secret, member.id, "preferences")),
    )


def stopped_by(ctx: Context, edition: EditionRow) -> str | None:
    """The digest an edition's one-click unsubscribe stops: its own, or for a bulletin the
    digest whose followers receive bulletins (``bulletins.audience``)."""
    if not edition.series.is_bulletin:
        return edition.series.name
    return ctx.settings.bulletins.audience if ctx.settings.bulletins else None


def send_pending(ctx: Context, edition: EditionRow, rendered: Mapping[str, RenderedEmail],
                 transport: Transport, *, policy: RetryPolicy | None = None,
                 limiter: RateLimiter | None = None, limit: int | None = None) -> SendOutcome:
    """Deliver every due pending row of ``edition``; mark the edition sent when none is left.

    Uses ``delivery.concurrency`` threads (each one connection of the transport's pool) and
    ``delivery.rate`` messages per second over all of them; ``ctx.stop`` ends it after the
    messages in flight. ``limit`` (a worker's send job: ``workers.batch``) stops the pass
    after that many rows were taken, the rest left pending for the next job."""
    if limit is not None and limit < 1:
        raise ValueError(f"send_pending: limit must be at least 1, got {limit}")
    release_stale(ctx)
    batch = _Batch(ctx, edition, rendered, transport, policy or RetryPolicy(),
                   limiter or RateLimiter(ctx.settings.delivery.rate,
                                          sleep=ctx.stop.wait), limit)
    return batch.run()


class _Batch:
    """One pass of the sending threads over an edition's rows."""

    def __init__(self, ctx: Context, edition: EditionRow, rendered: Mapping[str, RenderedEmail],
                 transport: Transport, policy: RetryPolicy, limiter: RateLimiter,
                 limit: int | None) -> None:
        self.ctx = ctx
        self.edition = edition
        self.label = edition.label  # parsed once, not per message
        self.stopped_by = stopped_by(ctx, edition)
        self.transport = transport
        self.policy = policy
        self.limiter = limiter
        self.stop = ctx.stop  # SIGTERM, or the service stopping
        now = ctx.clock.now()
        list_id = make_list_id(ctx.settings, edition.digest_id)
        self.factories = {key: MessageFactory(email, ctx.settings, list_id, now)
                          for key, email in rendered.items()}
        self.holder = new_holder()
        self.threads = max(1, ctx.settings.delivery.concurrency)
        self.claim_size = min(CLAIM_SIZE, self.threads * 25)
        self.left = limit  # rows this pass may still take (None: no limit)
        self.outcome = SendOutcome()
        self.halt: str | None = None  # a session failure: no thread takes another row
        self.held: str | None = None  # the edition was paused or cancelled meanwhile
        self.error: BaseException | None = None
        self._queue: list[Delivery] = []
        self._lock = threading.Lock()
        # SQLite lets one writer in at a time and makes the others sleep and retry; taking
        # turns in the process instead keeps every thread busy with the network.
        self._db_turn: AbstractContextManager[object] = (
            threading.Lock() if ctx.db.dialect == "sqlite" else nullcontext())
        self.marks: GroupCommit  # while the threads run
        self._held_open: dict[str, Connection] = {}  # PostgreSQL: claims, COMMITTERS

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One short transaction (a row's outcome), committed at once."""
        with self._db_turn, self.ctx.db.transaction() as connection:
            yield connection

    @contextmanager
    def _hot(self, purpose: str) -> Iterator[Connection]:
        """Where a claim or a group of marks is written: on PostgreSQL a connection held for
        the batch in autocommit mode (one statement, one round trip, durable on return;
        each purpose has one user at a time), on SQLite a transaction as ``_write``."""
        if purpose in self._held_open:
            yield self._held_open[purpose]
        else:
            with self._write() as connection:
                yield connection

    def _note(self, status: EditionStatus | None) -> None:
        """The edition's status as a write of this batch just read it: a coordinator's
        pause or cancel ends the batch after the messages in flight."""
        if status in (editions.PAUSED, editions.CANCELLED) and self.held is None:
            self.held = str(status)

    def _commit_marks(self, purpose: str, marks: Sequence[Mark]) -> None:
        with self._hot(purpose) as connection:
            self._note(claims.mark_sent_many(connection, self.edition.id, marks,
                                             self.ctx.clock.now()))

    def run(self) -> SendOutcome:
        """Work through the rows on the sending threads; mark the edition sent when no row
        is left unfinished."""
        with self._write() as connection:
            self._note(editions.status_of(connection, self.edition.id))
        LIVE_HOLDERS.add(self.holder)
        try:
            with ExitStack() as held:
                if self.ctx.db.dialect == "postgresql":
                    for purpose in ("claims", *COMMITTERS[:self.threads]):
                        self._held_open[purpose] = held.enter_context(
                            self.ctx.db.autocommit())
                self.marks = GroupCommit([partial(self._commit_marks, purpose)
                                          for purpose in COMMITTERS[:self.threads]])
                held.callback(self.marks.close)  # before the connections close
                self._run_threads()
        finally:
            self._held_open.clear()
            self._give_back()
            LIVE_HOLDERS.discard(self.holder)
        if self.halt:
            self.outcome.stopped = self.halt
        elif self.stop.is_set():
            self.outcome.stopped = "asked to stop (SIGTERM); unsent messages stay pending"
        self.outcome.held = self.held
        if isinstance(self.error, MissingVariantError):  # what was sent before it, and a
            self.error.outcome = self.outcome  # stop or pause read meanwhile: still counted
        if self.error is not None:
            raise self.error
        with self._write() as connection:
            if not deliveries.any_unfinished(connection, self.edition.id) and editions.status_of(
                    connection, self.edition.id) in (editions.SENDING, editions.APPROVED):
                editions.set_status(connection, self.edition.id, editions.SENT)
        return self.outcome

    def _run_threads(self) -> None:
        if self.threads == 1:
            return self._work()
        workers = [threading.Thread(target=self._work, name=f"send-{n}", daemon=True)
                   for n in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    # -- the rows

    def _next(self) -> Delivery | None:
        """The next claimed row, claiming a few more when the local queue runs dry."""
        with self._lock:
            if self.halt or self.error or self.stop.is_set() or self.held:
                return None
            if self.left == 0:  # claims never exceed ``left``: the queue is empty
                self.outcome.limited = True
                return None
            if not self._queue:
                size = self.claim_size if self.left is None else min(self.claim_size,
                                                                     self.left)
                now = self.ctx.clock.now()
                with self._hot("claims") as connection:  # (the status: read by records)
                    self._queue = claims.claim(connection, self.edition.id, self.holder,
                                               now, now + LEASE, size)
                self._queue.reverse()
            if not self._queue:
                return None
            if self.left is not None:
                self.left -= 1
            return self._queue.pop()

    @contextmanager
    def _record(self) -> Iterator[Connection]:
        """``_write`` for one row's outcome, reading the edition's status in it too: every
        message ends with such a read (or a group of marks), so a pause is seen after the
        messages in flight."""
        with self._write() as connection:
            yield connection
            self._note(editions.status_of(connection, self.edition.id))

    def _give_back(self) -> None:
        """Rows claimed but not tried (a stop, a session failure) go back to pending."""
        with self._lock:
            left, self._queue = [row.id for row in self._queue], []
        if left:
            with self._write() as connection:
                deliveries.release(connection, left, self.holder, self.ctx.clock.now())

    def _work(self) -> None:
        previous: int | None = None  # the group of this thread's last mark
        try:
            while (row := self._next()) is not None:
                previous = self._send(row, previous)
            self.marks.wait(previous)
        except BaseException as exc:  # a store error: stop every thread, re-raised in run
            with self._lock:
                self.error = self.error or exc

    def _count(self, deferral: str | None = None, **changes: int) -> None:
        with self._lock:
            self.outcome.add(deferral, **changes)

    def _send(self, row: Delivery, previous: int | None) -> int | None:
        """Hand the row's message over and record the answer; the group of its ``sent``
        mark (committed before this thread's next message is accepted), else
        ``previous``."""
        ctx = self.ctx
        member = row.subscriber
        if member.status is not SubscriberStatus.ACTIVE:
            with self._record() as connection:
                deliveries.mark_cancelled(connection, row.id, ctx.clock.now(),
                                          f"member is {member.status.value}")
            self._count(cancelled=1)
            return previous
        factory = self.factories.get(row.variant_key)
        if factory is None:  # the caller renders every planned variant: a bug
            with self._write() as connection:
                deliveries.release(connection, [row.id], self.holder, ctx.clock.now())
            raise MissingVariantError(f"{self.label}: variant {row.variant_key!r} not rendered")
        message_id = make_message_id(ctx.settings, self.label, member.email, ctx.secret)
        try:
            envelope = factory.build(
                recipient_for(ctx, member, self.stopped_by), message_id,
                self._return_path(row.id))
            self.limiter.wait()
            if self.stop.is_set() or not hand_over(self.transport, envelope, self.marks,
                                                   previous, lambda: self.held is None):
                # stopped while waiting for the rate, or held: not delivered; the previous
                # mark is still this thread's to wait for (its commit may yet fail)
                with self._write() as connection:
                    deliveries.release(connection, [row.id], self.holder, ctx.clock.now())
                return previous
        except SessionFailure as exc:
            with self._lock:
                self.halt = self.halt or str(exc)
            with self._record() as connection:
                deliveries.release(connection, [row.id], self.holder, ctx.clock.now(), str(exc))
            self._count(str(exc), deferred=1)
        except PermanentFailure as exc:
            self._failed(row, message_id, exc)
        except TemporaryFailure as exc:
            self._deferred(row, message_id, exc)
        else:
            self._count(sent=1)
            return self.marks.submit((row.id, message_id))
        return previous

    def _return_path(self, delivery_id: int) -> str | None:
        """The delivery's own envelope sender when ``bounces.return_path`` is set (VERP)."""
        bounces = self.ctx.settings.bounces
        if bounces is None or bounces.return_path is None:
            return None
        return verp_address(self.ctx.secret, delivery_id, bounces.return_path)

    def _failed(self, row: Delivery, message_id: str, exc: PermanentFailure) -> None:
        ctx = self.ctx
        bounced = ((is_unknown_user(exc) or exc.stage == "address")
                   and row.subscriber.id is not None)
        with self._record() as connection:
            deliveries.mark_failed(connection, row.id, ctx.clock.now(), message_id, str(exc))
            if bounced and row.subscriber.id is not None:
                subscribers.set_status_by_id(connection, row.subscriber.id,
                                             SubscriberStatus.BOUNCED)
        self._count(failed=1, bounced=int(bounced))

    def _deferred(self, row: Delivery, message_id: str, exc: TemporaryFailure) -> None:
        ctx = self.ctx
        now = ctx.clock.now()
        attempts = row.attempts + 1
        with self._record() as connection:
            if attempts >= self.policy.max_attempts:
                deliveries.mark_failed(connection, row.id, now, message_id,
                                       f"gave up after {attempts} attempts: {exc}")
            else:
                deliveries.defer(connection, row.id, now, message_id, str(exc),
                                 now + self.policy.delay(attempts))
        if attempts >= self.policy.max_attempts:
            self._count(failed=1)
        else:
            self._count(str(exc), deferred=1)
