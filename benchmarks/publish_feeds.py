"""Publishing the feeds of 20 themes from a store of 50 000 items, against 500 items.

``jobs.feeds.publish`` as a run ends with it: the newest entries of everything and of each
of 20 themes read from the store, Atom and RSS written for each (44 feeds), the OPML and
the index page. Items carry one or two themes, one in ten is an event (its entry opens with
when and where); ``feeds.entries`` is the default 50. One theme is a niche (one item in
2 000), so its feed never fills and the newest-first read goes through the whole store:
the worst case. Each store size is measured in a
fresh process (SQLite; PostgreSQL too with ``--postgres URL``, its tables dropped first):
the first publish (files written), then the best of three more (files unchanged, so not
rewritten), and the ratio to the 500-item store measured in the same run; wall and this
process's CPU seconds (on PostgreSQL the server's work is only in the wall time).

Run: ``.venv/bin/python benchmarks/publish_feeds.py [--sizes 500,50000] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NOW = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
THEMES = 20
SUMMARY = "<p>" + "A paragraph about what the network did, with <a href='https://example.org/x'>" \
          "a link</a> and <em>some</em> emphasis. " * 4 + "</p>"


def fill(ctx: Any, count: int) -> None:
    from digest.models import EventInfo, Item, Kind
    from digest.store import items

    batch = []
    for n in range(count):
        first = n % THEMES
        if first == THEMES - 1 and n % 2000 != THEMES - 1:  # a niche theme, never full
            first = n % (THEMES - 1)
        themes = (f"theme-{first:02d}",) if n % 3 else (
            f"theme-{first:02d}", f"theme-{(n * 7) % (THEMES - 1):02d}")
        published = NOW - timedelta(minutes=7 * n)
        event = None
        if n % 10 == 0:
            start = published + timedelta(days=20)
            event = EventInfo(start=start, end=start + timedelta(hours=2), location="Lyon")
        batch.append(Item(key=f"https://example.org/items/{n}", kind=Kind.EVENT if event
                          else Kind.NEWS, title=f"Item number {n}",
                          link=f"https://example.org/items/{n}", summary_html=SUMMARY,
                          published=published, themes=tuple(sorted(set(themes))),
                          source_id=f"source-{n % 30}", event=event))
        if len(batch) == 1000:
            with ctx.db.transaction() as connection:
                items.upsert_items(connection, batch, NOW)
            batch = []
    if batch:
        with ctx.db.transaction() as connection:
            items.upsert_items(connection, batch, NOW)


def child(count: int, folder: Path, database: str | None) -> dict[str, Any]:
    from digest.config import Environment
    from digest.jobs.context import Context
    from digest.jobs.feeds import publish
    from digest.models import RunReport
    from digest.testing import ManualClock, build_settings

    settings = build_settings(folder, themes={f"theme-{n:02d}": f"Theme {n}"
                                              for n in range(THEMES)})
    ctx = Context(settings=settings, env=Environment(database, None, None,
                                                    "0123456789abcdef" * 4, None),
                  clock=ManualClock(NOW))
    fill(ctx, count)
    times, cpu = [], []
    for _ in range(4):
        report = RunReport()
        started, cpu_started = time.perf_counter(), time.process_time()
        publish(ctx, report, {})
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    files = len(list(settings.feeds_dir.iterdir()))
    ctx.close()
    return {"first": times[0], "best": min(times[1:]), "files": files,
            "first_cpu": cpu[0], "best_cpu": min(cpu[1:]),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    from digest.store.schema import metadata

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def measure(count: int, database: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temp:
        if database:
            _reset_postgres(database)
        command = [sys.executable, __file__, "--child", str(count), "--folder", temp]
        if database:
            command += ["--database", database]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if done.returncode != 0:
            raise SystemExit(f"{count} items failed:\n{done.stdout}\n{done.stderr}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,50000")
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, Path(args.folder), args.database)))
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    stores = [("SQLite", None)] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    print(f"{THEMES} themes, 44 feeds of at most 50 entries; load average "
          f"{os.getloadavg()[0]:.2f}")
    print("| store | items | first publish s (CPU) | best of 3 more s (CPU) | ratio to "
          "smallest | files | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for name, database in stores:
        base = None
        for count in sizes:
            r = measure(count, database)
            base = base or r["best"]
            print(f"| {name} | {count:,} | {r['first']:.2f} ({r['first_cpu']:.2f}) "
                  f"| {r['best']:.2f} ({r['best_cpu']:.2f}) "
                  f"| {r['best'] / base:.2f} | {r['files']} | {r['peak_mib']:.0f} |")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
