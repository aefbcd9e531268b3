"""What a parsing process runs: a feed's bytes in, its sealed items out, one at a time.

Parsing a feed (feedparser, then sanitising, titling and filing every entry) is pure Python
and holds the GIL: in the polling threads alone, a hundred feeds cost two seconds of one
core however many threads wait on the network. So ``parsers`` keeps a few of these
processes beside the threads, which go on fetching and storing. A process imports only
what parsing needs (no settings, HTTP client or database), so it stays small, and its
answers are flat tuples, cheap to send back; this module is also that wire format.

Run as ``python -m digest.sources.parse_process JOBS ANSWERS``: the descriptors of the two
pipes it reads jobs from and writes answers to; it stops when the jobs pipe closes. Once it
has imported the readers it answers ``("ready",)``, so that its start-up, slower on a busy
machine, is not counted in the first feed's time limit. A job
is ``(read, fetched, listing)``, ``read`` being a registry reader that needs only the bytes
and a ``Listing``; the answer is ``("items", rows, problems)`` or ``("error", message)``,
the message the thread would have raised as ``SourceError``.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import import_module
from multiprocessing.connection import Connection
from typing import Any

from digest.errors import SourceError
from digest.models import Item, Kind
from digest.sources.clean.seal import sealed
from digest.sources.fetched import Fetched
from digest.sources.parsed import Parsed
from digest.sources.reader import Listing

Row = tuple[str, str, str, str | None, str, datetime, datetime | None, tuple[str, ...], bool,
            str | None]
Job = tuple[Callable[[Fetched, Listing], Parsed], Fetched, Listing]
Answer = tuple[Any, ...]
READY: Answer = ("ready",)
PRELOAD = ("digest.sources.feed",)
"""The modules of the readers a job may name (``registry``: the listing readers)."""


def pack(item: Item) -> Row:
    """A listing's item as a flat tuple (its source is the job's; a listing has no events)."""
    return (item.key, item.kind.value, item.title, item.link, item.summary_html,
            item.published, item.updated, item.themes, item.undated, item.link_key)


def unpack(row: Row, source_id: str) -> Item:
    """The item a ``pack``-ed row stands for."""
    key, kind, title, link, summary_html, published, updated, themes, undated, link_key = row
    return Item(key=key, kind=Kind(kind), title=title, link=link, summary_html=summary_html,
                published=published, updated=updated, themes=themes, source_id=source_id,
                undated=undated, link_key=link_key)


def answer(job: Job) -> Answer:
    """Read one job's feed; whatever goes wrong is the answer, never an exception."""
    read, fetched, listing = job
    try:
        parsed = read(fetched, listing)
        return ("items", [pack(item) for item in sealed(parsed.items)], parsed.problems)
    except SourceError as exc:
        return ("error", str(exc))
    except Exception as exc:  # what a parser let through, worded as the poll's boundary does
        return ("error", f"unexpected {type(exc).__name__}: {exc}")


def main(argv: Sequence[str] | None = None,
         respond: Callable[[Job], Answer] = answer) -> None:
    """Answer the jobs of the pipes named on the command line until the parent closes
    them (``respond``: a test's stand-in that misbehaves on purpose)."""
    jobs_fd, answers_fd = (int(arg) for arg in (sys.argv[1:] if argv is None else argv))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    jobs = Connection(jobs_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    for module in PRELOAD:
        import_module(module)
    answers.send(READY)
    while True:
        try:
            job = jobs.recv()
        except EOFError:
            return
        answers.send(respond(job))


if __name__ == "__main__":
    main()
