"""One million members: import, plan and prepare an edition's outbox, per size and store.

For each store (SQLite; PostgreSQL with ``--postgres URL``, whose tables are dropped first)
and each size (100 000, 300 000 and 1 000 000 members by default, over 16 theme variants,
1 in 50 unsubscribed), every phase runs in a fresh process, so its peak RSS (``getrusage``)
is its own:

1. **import**: ``subscribers.import_csv`` of a members CSV (what ``digest subscribers
   import`` and a run's first import do), streamed and stored in batches;
2. (untimed) collecting the sample's sources, so the next phase has an edition;
3. **plan**: what ``jobs.editions.run_digest`` does between reading the members and
   sending: the members read as groups, the edition frozen and its outbox rows made
   (``_store_edition``);
4. **prepare**: every message of the outbox built from rows read out of it, page by page
   (the row a sender claims: delivery joined to its member), signed links, Message-ID and
   bytes, as ``jobs.outbox`` does per message; the variants are rendered first (untimed,
   reported). The rate is given for the first and last tenth of the outbox too, so a
   growing outbox shows, and against the naive per-member pipeline of
   ``benchmarks/delivery.py`` (200 members, measured in the same process).

Run: ``.venv/bin/python benchmarks/members_scale.py [--sizes 100000,300000,1000000]
[--postgres URL]``. Results go to stdout; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NOW = "2019-03-18T08:00:00+01:00"
PAGE = 1_000


def _rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _context(folder: Path, database: str | None) -> Any:
    from digest.clock import parse_now
    from digest.config import Environment, load_settings
    from digest.jobs.context import Context

    settings = load_settings(folder / "schedules.yaml")
    secret = "0123456789abcdef" * 4
    return Context(settings=settings, env=Environment(database, None, None, secret, None),
                   clock=parse_now(NOW))


def _subsets(themes: list[str]) -> list[tuple[str, ...]]:
    """All themes, each theme alone, then pairs: 16 variants, as benchmarks/delivery.py."""
    subsets: list[tuple[str, ...]] = [()]
    subsets += [(t,) for t in themes]
    subsets += [(a, b) for i, a in enumerate(themes) for b in themes[i + 1:]]
    return subsets[:16]


def write_csv(path: Path, count: int, themes: list[str]) -> None:
    subsets = _subsets(themes)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "language", "digests", "themes", "status"])
        for n in range(count):
            writer.writerow([f"member{n:07d}@example.org", f"Member {n}", "en", "weekly",
                             ";".join(subsets[n % len(subsets)]),
                             "unsubscribed" if n % 50 == 49 else ""])


# ------------------------------------------------------------------ phases (child processes)


def phase_import(ctx: Any, folder: Path) -> dict[str, Any]:
    from digest.store import subscribers

    settings = ctx.settings
    started, cpu = time.perf_counter(), time.process_time()
    with ctx.db.transaction() as connection:
        result = subscribers.import_csv(
            connection, folder / "members.csv", ctx.clock.now(), settings.site.language,
            [d.id for d in settings.digests], settings.themes)
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
            "added": result.added, "problems": len(result.problems)}


def phase_setup(ctx: Any, folder: Path) -> dict[str, Any]:
    from digest.jobs.collect import collect
    from digest.models import RunReport

    collect(ctx, RunReport())
    return {}


def phase_plan(ctx: Any, folder: Path) -> dict[str, Any]:
    from digest.jobs.build import upcoming_edition
    from digest.jobs.editions import _store_edition, current_slot
    from digest.store import audience, deliveries

    digest = ctx.settings.digests[0]
    edition = upcoming_edition(ctx, digest)
    started, cpu = time.perf_counter(), time.process_time()
    with ctx.db.transaction() as connection:
        members = audience.audience(connection, digest.id)
    row = _store_edition(ctx, digest, edition, members)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert row is not None and current_slot(ctx, digest) is not None
    with ctx.db.transaction() as connection:
        planned = deliveries.counts(connection, row.id).get("pending", 0)
    return {"seconds": seconds, "cpu": cpu, "rows": planned, "groups": len(members.groups)}


def phase_prepare(ctx: Any, folder: Path) -> dict[str, Any]:
    from sqlalchemy import select

    from digest.jobs.editions import prepare_stored
    from digest.jobs.outbox import recipient_for, stopped_by
    from digest.mail.message import MessageFactory, make_list_id, make_message_id
    from digest.store import deliveries, editions
    from digest.store.schema import deliveries as table

    digest = ctx.settings.digests[0]
    with ctx.db.transaction() as connection:
        [row] = editions.unfinished(connection)
    started = time.perf_counter()
    row, rendered = prepare_stored(ctx, digest, row)
    render_seconds = time.perf_counter() - started
    now, list_id = ctx.clock.now(), make_list_id(ctx.settings, digest.id)
    factories = {key: MessageFactory(email, ctx.settings, list_id, now)
                 for key, email in rendered.prepared.variants.items()}
    stops = stopped_by(ctx, row)
    total = built = 0
    last = 0
    rates: list[tuple[int, float, float]] = []  # messages, seconds, CPU seconds
    query = deliveries._select_rows().where(
        table.c.edition_id == row.id, table.c.status == "pending")
    started, cpu = time.perf_counter(), time.process_time()
    while True:
        page_started, page_cpu = time.perf_counter(), time.process_time()
        with ctx.db.transaction() as connection:
            rows = [deliveries._delivery(r) for r in connection.execute(
                query.where(table.c.id > last).order_by(table.c.id).limit(PAGE)).mappings()]
        if not rows:
            break
        for delivery in rows:
            member = delivery.subscriber
            message_id = make_message_id(ctx.settings, row.label, member.email, ctx.secret)
            envelope = factories[delivery.variant_key].build(
                recipient_for(ctx, member, stops), message_id, None)
            total += len(envelope.data)
        built += len(rows)
        last = rows[-1].id
        rates.append((len(rows), time.perf_counter() - page_started,
                      time.process_time() - page_cpu))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    tenth = max(1, len(rates) // 10)

    def rate(pages: list[tuple[int, float, float]], which: int) -> float:
        return sum(page[0] for page in pages) / max(sum(page[which] for page in pages), 1e-9)

    first, final = rate(rates[:tenth], 1), rate(rates[-tenth:], 1)
    first_cpu, final_cpu = rate(rates[:tenth], 2), rate(rates[-tenth:], 2)
    with ctx.db.transaction() as connection:
        sample = list(connection.execute(select(table.c.id).where(
            table.c.edition_id == row.id).limit(1)))
    assert sample
    naive = _naive(ctx, row.label, 200)
    return {"seconds": seconds, "cpu": cpu, "messages": built, "bytes": total // max(built, 1),
            "render_seconds": render_seconds, "variants": len(factories),
            "first_tenth_rate": first, "last_tenth_rate": final, "naive_rate": naive,
            "first_tenth_cpu_rate": first_cpu, "last_tenth_cpu_rate": final_cpu}


def _naive(ctx: Any, label: str, count: int) -> float:
    """The naive pipeline of benchmarks/delivery.py (render and build per member)."""
    spec = __import__("importlib.util").util.spec_from_file_location(
        "delivery_benchmark", ROOT / "benchmarks" / "delivery.py")
    module = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from digest.jobs.build import upcoming_edition

    edition = upcoming_edition(ctx, ctx.settings.digests[0])
    people = module.members(count, _subsets(list(ctx.settings.themes)))
    return float(count / module.naive(ctx, edition, people))


PHASES = {"import": phase_import, "setup": phase_setup, "plan": phase_plan,
          "prepare": phase_prepare}


def child(phase: str, folder: Path, database: str | None) -> None:
    base = _rss_mib()
    ctx = _context(folder, database)
    imported = _rss_mib()
    result = PHASES[phase](ctx, folder)
    ctx.close()
    result.update(peak_mib=_peak_mib(), rss_start_mib=base, rss_after_imports_mib=imported)
    print(json.dumps(result))


# ------------------------------------------------------------------ the parent


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    from digest.store.schema import metadata

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def run_phase(phase: str, folder: Path, database: str | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", phase, "--folder", str(folder)]
    if database:
        command += ["--database", database]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(size: int, database: str | None) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        shutil.copy(ROOT / "schedules.yaml", folder / "schedules.yaml")
        shutil.copytree(ROOT / "sample", folder / "sample")
        config = folder / "schedules.yaml"
        config.write_text(config.read_text().replace("approval: true", "approval: false"))
        from digest.config import load_settings

        write_csv(folder / "members.csv", size, list(load_settings(config).themes))
        if database:
            _reset_postgres(database)
        return {phase: run_phase(phase, folder, database) for phase in PHASES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL "
                        "database (its tables are dropped first)")
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--child", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.folder), args.database)
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    stores = ([("SQLite", None)] if args.sqlite else []) + (
        [("PostgreSQL", args.postgres)] if args.postgres else [])
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for name, database in stores:
        base: dict[str, float] = {}
        print(f"\n{name}")
        print("| members | phase | s | CPU s | µs/member | per member to smallest "
              "| CPU per member to smallest | peak RSS MiB | after imports MiB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for size in sizes:
            found = measure(size, database)
            for phase in ("import", "plan", "prepare"):
                r = found[phase]
                per, cpu = r["seconds"] / size * 1e6, r["cpu"] / size * 1e6
                base.setdefault(phase, per)
                base.setdefault(phase + " cpu", cpu)
                print(f"| {size:,} | {phase} | {r['seconds']:.1f} | {r['cpu']:.1f} | {per:.1f} "
                      f"| {per / base[phase]:.2f} | {cpu / base[phase + ' cpu']:.2f} "
                      f"| {r['peak_mib']:.0f} | {r['rss_after_imports_mib']:.0f} |")
            p = found["prepare"]
            rate = p["messages"] / p["seconds"]
            print(f"  prepare: {p['messages']:,} messages of {p['bytes']:,} bytes, "
                  f"{p['variants']} variants rendered in {p['render_seconds']:.1f} s; "
                  f"{rate:,.0f} msg/s ({p['messages'] / p['cpu']:,.0f} per CPU second), "
                  f"first tenth {p['first_tenth_rate']:,.0f}, last tenth "
                  f"{p['last_tenth_rate']:,.0f} (per CPU second "
                  f"{p.get('first_tenth_cpu_rate', 0):,.0f} and "
                  f"{p.get('last_tenth_cpu_rate', 0):,.0f}); naive {p['naive_rate']:.1f} msg/s, "
                  f"ratio {rate / p['naive_rate']:.0f}x; plan: {found['plan']['rows']:,} rows, "
                  f"{found['plan']['groups']} groups; load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
