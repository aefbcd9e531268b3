"""Sending benchmark: the whole outbox on PostgreSQL, 1, 2 and 4 workers, against Postfix.

Messages per second to Postfix's ``smtp-sink`` through the whole outbox: real ``digest
worker`` processes (``workers.enabled``, one job at a time each) run the edition's send jobs
(``workers.send_jobs`` = the number of workers, ``workers.batch`` 500 or ``--batch``): each
job claims rows, builds each member's message, sends it over ``delivery.concurrency``
connections and records it ``sent`` in PostgreSQL with a durable commit. Against Postfix's own
``smtp-source`` pushing the same number of messages of the same size over the same total
number of kept-open sessions, measured in the same run. The edition is the sample's, made
once by the product (collect, compose, render, plan) for ``--messages`` members; before
each measure its rows are set pending again and its variants kept in the store, as
``make_edition`` leaves them. The workers are started and ready before the clock starts;
it runs from queueing the send jobs to the last row recorded ``sent`` (polled), so it
includes each worker reading the variants and importing the sending code at its first job.
``--direct`` instead runs processes that call ``send_pending`` on the edition (no queue).
Also: the connection pool alone (no store), one process.

Run: ``.venv/bin/python benchmarks/sending.py --postgres postgresql://...`` (its tables are
dropped first; ``--messages``, ``--concurrency``, ``--workers`` change the sizes). Needs
``/usr/sbin/smtp-sink`` and ``/usr/sbin/smtp-source`` (Debian's ``postfix``). Results go
to stdout; docs/benchmarks.md ("Delivery") records them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.clock import parse_now  # noqa: E402
from digest.config import Environment, load_settings  # noqa: E402
from digest.jobs.context import Context  # noqa: E402
from digest.models import RenderedEmail  # noqa: E402

NOW = "2019-03-18T08:00:00+01:00"
KEY = "bench-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"


def context(folder: Path, database: str, smtp: str | None, concurrency: int,
            batch: int = 500) -> Context:
    """The repository's config (SMTP, no rate limit to speak of), copied into ``folder``."""
    config = folder / "schedules.yaml"
    if not (folder / "members.csv").exists():  # replaced by sample_edition
        shutil.copy(ROOT / "sample" / "subscribers.csv", folder / "members.csv")
    if not config.exists():
        shutil.copy(ROOT / "schedules.yaml", config)
        shutil.copytree(ROOT / "sample", folder / "sample")
        config.write_text(config.read_text().replace("transport: file", "transport: smtp")
                          .replace("rate: 20/s", "rate: 100000/s")
                          .replace("concurrency: 4", f"concurrency: {concurrency}")
                          .replace("import: sample/subscribers.csv", "import: members.csv")
                          + f"workers: {{enabled: true, send_jobs: 4, batch: {batch}}}\n")
    return Context(settings=load_settings(config),
                   env=Environment(database, smtp and f"smtp://{smtp}?timeout=30", None, KEY,
                                   None),
                   clock=parse_now(NOW))


def render_sample(folder: Path) -> RenderedEmail:
    """The sample edition's full variant (about 45 kB), rendered once."""
    from digest.jobs.build import upcoming_edition
    from digest.jobs.collect import collect
    from digest.links import edition_links
    from digest.models import RunReport
    from digest.render.email import render_edition_email

    ctx = Context(settings=load_settings(folder / "schedules.yaml"),
                  env=Environment(f"sqlite:///{folder / 'render.db'}", None, None, KEY, None),
                  clock=parse_now(NOW))
    collect(ctx, RunReport())
    edition = upcoming_edition(ctx, ctx.settings.digests[0])
    links = edition_links(ctx.settings, edition.digest_id, edition.number)
    rendered = render_edition_email(edition, ctx.settings, links)
    ctx.close()
    return rendered


def reset(database: str) -> None:
    """Drop the product's tables and the job queue (as tests/conftest.reset_postgres)."""
    from sqlalchemy import create_engine

    from digest.store.job_queue import drop_queue_schema
    from digest.store.schema import metadata

    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        drop_queue_schema(connection)
    metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def add_members(ctx: Context, count: int) -> None:
    """``count`` active members, inserted in bulk."""
    from digest.store.schema import subscribers

    now = ctx.clock.now()
    rows = [{"email": f"m{n:06d}@example.org", "name": f"M {n}", "language": "en",
             "digests": ["weekly"], "themes": [], "status": "active", "created_at": now}
            for n in range(count)]
    with ctx.db.transaction() as c:
        c.execute(subscribers.insert(), rows)


def plan_edition(ctx: Context, number: int) -> int:
    """A new sending edition with one pending row per member; its id."""
    from sqlalchemy import select

    from digest.store import editions
    from digest.store.schema import deliveries, subscribers

    now = ctx.clock.now()
    with ctx.db.transaction() as c:
        row = editions.create(c, digest_id="weekly", slot=now.replace(year=2000 + number),
                              number=number, status=editions.SENDING, title="Bench",
                              period_start=None, period_end=now, item_keys=[], omitted=0,
                              now=now)
        assert row is not None
        ids = c.execute(select(subscribers.c.id).order_by(subscribers.c.id)).scalars().all()
        c.execute(deliveries.insert(), [
            {"edition_id": row.id, "subscriber_id": member, "variant_key": "all",
             "status": "pending", "attempts": 0, "updated_at": now} for member in ids])
        return row.id


class Sink:
    """Postfix's smtp-sink on a free port, for the life of a ``with`` block."""

    def __enter__(self) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
        self.process = subprocess.Popen([SMTP_SINK, *user, f"127.0.0.1:{port}", "256"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return f"127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)


def worker(spec_path: str) -> int:
    """One sending process: open everything, say ready, wait for "go", send, report."""
    from digest.jobs.outbox import send_pending
    from digest.mail.transports import make_transport
    from digest.store import editions

    spec = json.loads(Path(spec_path).read_text())
    ctx = context(Path(spec["folder"]), spec["database"], spec["smtp"], spec["concurrency"])
    rendered = {"all": RenderedEmail(**spec["rendered"])}
    with ctx.db.transaction() as c:
        row = editions.by_label(c, f"weekly/{spec['number']}")
    assert row is not None
    transport = make_transport(ctx.settings, ctx.env)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    cpu = time.process_time()
    if profile := os.environ.get("BENCH_PROFILE"):  # main thread only: use --concurrency 1
        import cProfile

        with cProfile.Profile(time.thread_time) as profiler:  # this thread's CPU
            outcome = send_pending(ctx, row, rendered, transport)
        profiler.dump_stats(f"{profile}.{os.getpid()}")
    else:
        outcome = send_pending(ctx, row, rendered, transport)
    finished = time.monotonic()
    cpu = time.process_time() - cpu
    transport.close()
    ctx.close()
    print(json.dumps({"sent": outcome.sent, "started": started, "finished": finished,
                      "stopped": outcome.stopped, "cpu": cpu}), flush=True)
    return 0


def outbox_run(folder: Path, database: str, rendered: RenderedEmail, number: int,
               processes: int, concurrency: int) -> tuple[float, int, float]:
    """Every row of a new edition sent by ``processes`` processes; (seconds, sent, the
    processes' CPU seconds while sending)."""
    ctx = context(folder, database, None, concurrency)
    plan_edition(ctx, number)
    ctx.close()
    with Sink() as address:
        spec = folder / f"spec-{number}.json"
        spec.write_text(json.dumps({"folder": str(folder), "database": database,
                                    "smtp": address, "concurrency": concurrency,
                                    "number": number, "rendered": asdict(rendered)}))
        children = [subprocess.Popen([sys.executable, __file__, "--worker", str(spec)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
                    for _ in range(processes)]
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.strip() == "ready", line
        go = time.monotonic()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        reports = []
        for child in children:
            out, _ = child.communicate(timeout=600)
            reports.append(json.loads(out.strip().splitlines()[-1]))
    return (max(r["finished"] for r in reports) - go, sum(r["sent"] for r in reports),
            sum(r["cpu"] for r in reports))


def sample_edition(folder: Path, database: str, count: int, concurrency: int
                   ) -> tuple[int, bytes, float, dict[str, RenderedEmail]]:
    """The sample's weekly edition made by the product for ``count`` members (collect,
    compose, render, plan; its send jobs not queued): its id, one member's message, how
    long rendering its variant takes, and its rendered variants."""
    from digest.jobs.collect import collect, ensure_subscribers
    from digest.jobs.editions import prepare_stored, run_digest
    from digest.mail.transports.files import FileTransport
    from digest.models import RunReport
    from digest.store import editions

    with (folder / "members.csv").open("w", encoding="utf-8") as members:
        members.write("email,name,language,digests,themes\n")
        members.writelines(f"m{n:06d}@example.org,M {n},en,weekly,\n" for n in range(count))
    reset(database)
    ctx = context(folder, database, None, concurrency)
    report = RunReport()
    ensure_subscribers(ctx, report)
    collect(ctx, report)
    ctx.dispatch_outbox = lambda row: None  # the benchmark queues the send jobs itself
    digest = ctx.settings.digests[0]
    run_digest(ctx, digest, report, FileTransport(folder / "previews"))
    with ctx.db.transaction() as c:
        row = editions.by_label(c, "weekly/1")
    assert row is not None and not report.failures, report.failures
    started = time.perf_counter()
    _, rendered = prepare_stored(ctx, digest, row)
    render = time.perf_counter() - started
    variants = dict(rendered.prepared.variants)
    data = sample_size(ctx, variants["all"])
    ctx.close()
    return row.id, data, render, variants


def pending_again(database: str, edition_id: int, variants: dict[str, RenderedEmail]) -> None:
    """Every row of the edition pending and untried again, the edition sending, its
    variants kept in the store: as ``make_edition`` leaves a new edition for the send
    jobs (the last send job of a round forgot them)."""
    from digest.store import edition_variants, editions
    from digest.store.schema import deliveries

    ctx = Context(settings=load_settings(ROOT / "schedules.yaml"),
                  env=Environment(database, None, None, KEY, None), clock=parse_now(NOW))
    with ctx.db.transaction() as c:
        c.execute(deliveries.update().where(deliveries.c.edition_id == edition_id).values(
            status="pending", attempts=0, message_id=None, claimed_by=None, lease_until=None,
            next_attempt_at=None, last_error=None))
        editions.set_status(c, edition_id, editions.SENDING)
        edition_variants.save(c, edition_id, variants)
    ctx.close()


@dataclass
class Costs:
    """Where the CPU went during one measure, in seconds, and the database's commits."""

    workers: float = 0.0
    postgres: float = 0.0
    sink: float = 0.0
    commits: int = 0

    def per_message(self, count: int) -> str:
        return (f"CPU per message: workers {self.workers / count * 1e6:.0f} µs, PostgreSQL "
                f"{self.postgres / count * 1e6:.0f} µs, smtp-sink {self.sink / count * 1e6:.0f}"
                f" µs; {count / max(1, self.commits):.1f} messages per commit")


def workers_run(folder: Path, database: str, edition_id: int, variants: dict[str, RenderedEmail],
                count: int, processes: int, concurrency: int) -> tuple[float, Costs]:
    """The edition's rows sent by ``processes`` real ``digest worker`` processes: seconds
    from queueing its send jobs to the edition recorded sent (by the job that found no row
    left), and the CPU that the workers, PostgreSQL and smtp-sink used meanwhile (on two
    cores the three share the machine). Its status is polled, one row by key: counting the
    sent rows every 20 ms cost PostgreSQL more CPU than the sending itself."""
    from sqlalchemy import create_engine, func, select, text

    from digest.store.schema import deliveries, editions
    from digest.workers.app import make_app
    from digest.workers.queue import JobQueue

    pending_again(database, edition_id, variants)
    settings = load_settings(folder / "schedules.yaml")
    settings = settings.model_copy(update={"workers": settings.workers.model_copy(
        update={"send_jobs": processes})})
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
    sent = (select(func.count()).select_from(deliveries)
            .where(deliveries.c.edition_id == edition_id, deliveries.c.status == "sent"))
    status = select(editions.c.status).where(editions.c.id == edition_id)
    sink = Sink()
    with sink as address:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        env.update({"DIGEST_DATABASE_URL": database, "DIGEST_SECRET_KEY": KEY,
                    "DIGEST_SMTP_URL": f"smtp://{address}?timeout=30",
                    "PYTHONPATH": str(ROOT)})
        workers = [subprocess.Popen([sys.executable, "-m", "digest", "--now", NOW, "worker",
                                     "--concurrency", "1"], cwd=folder, env=env, text=True,
                                    stdout=subprocess.PIPE)
                   for _ in range(processes)]
        try:
            for process in workers:
                assert process.stdout is not None
                line = process.stdout.readline()
                assert "worker ready" in line, line
            app = make_app(database)
            with app.open(), engine.connect() as connection:
                commits = text("SELECT xact_commit FROM pg_stat_database "
                               "WHERE datname = current_database()")
                before = Costs(sum(cpu_seconds(process.pid) for process in workers),
                               cpu_of("postgres"), cpu_seconds(sink.process.pid),
                               connection.execute(commits).scalar_one())
                started = time.monotonic()
                JobQueue(app, settings).sends(edition_id)
                deadline = started + 600
                while connection.execute(status).scalar() != "sent":
                    connection.rollback()
                    assert time.monotonic() < deadline, "the workers did not finish"
                    time.sleep(0.02)
                elapsed = time.monotonic() - started
                connection.rollback()
                time.sleep(0.6)  # PostgreSQL's statistics are sent every 500 ms
                costs = Costs(
                    sum(cpu_seconds(process.pid) for process in workers) - before.workers,
                    cpu_of("postgres") - before.postgres,
                    cpu_seconds(sink.process.pid) - before.sink,
                    connection.execute(commits).scalar_one() - before.commits)
                assert connection.execute(sent).scalar() == count
        finally:
            for process in workers:
                process.terminate()
            for process in workers:
                process.wait(60)
            engine.dispose()
    return elapsed, costs


def cpu_of(command: str) -> float:
    """CPU seconds so far of every process named ``command`` (PostgreSQL's backends come
    and go: a backend that exited meanwhile is not counted, nor one that started)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat and stat[stat.index("(") + 1:stat.rindex(")")] == command:
            total += cpu_seconds(int(entry.name))
    return total


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a running process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pool_send(data: bytes, count: int, concurrency: int) -> float:
    """The same messages through the connection pool alone (no store); seconds."""
    from digest.mail.envelope import Envelope
    from digest.mail.transports import SmtpPool, SmtpTransport

    with Sink() as address:
        pool = SmtpPool(lambda: SmtpTransport(f"smtp://{address}?timeout=30"), concurrency)

        def run(part: range) -> None:
            for n in part:
                pool.send(Envelope("forum@example.org", f"r{n}@example.org", f"<{n}@x>", data))

        threads = [threading.Thread(target=run, args=(range(n, count, concurrency),))
                   for n in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        pool.close()
    return elapsed


def source_send(count: int, size: int, sessions: int) -> float:
    """Postfix's smtp-source: ``count`` messages of ``size`` bytes over ``sessions``
    kept-open sessions; seconds."""
    with Sink() as address:
        started = time.perf_counter()
        subprocess.run([SMTP_SOURCE, "-d", "-s", str(sessions), "-m", str(count),
                        "-l", str(size), "-f", "forum@example.org", "-t", "m@example.org",
                        address], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def sample_size(ctx: Context, rendered: RenderedEmail) -> bytes:
    """One member's whole message, as the outbox sends it."""
    from digest.jobs.outbox import recipient_for
    from digest.mail.message import MessageFactory
    from digest.models import Subscriber

    member = Subscriber(email="m000000@example.org", name="M 0", language="en",
                        digests=("weekly",), id=1)
    factory = MessageFactory(rendered, ctx.settings, "weekly.bench", datetime.now(UTC))
    return factory.build(recipient_for(ctx, member), "<bench@x>").data


def main() -> int:
    if sys.argv[1:2] == ["--worker"]:
        return worker(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", required=True,
                        help="PostgreSQL database to use (its product tables are dropped)")
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=4,
                        help="connections per process (delivery.concurrency)")
    parser.add_argument("--workers", default="1,2,4", help="process counts to measure")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500,
                        help="messages per send job (workers.batch)")
    parser.add_argument("--direct", action="store_true",
                        help="processes calling send_pending instead of digest worker")
    args = parser.parse_args()
    if not (Path(SMTP_SINK).exists() and Path(SMTP_SOURCE).exists()):
        print("send: SKIPPED: smtp-sink/smtp-source missing (apt-get install postfix)")
        return 0
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        ctx = context(folder, args.postgres, None, args.concurrency, args.batch)
        if args.direct:
            rendered = render_sample(folder)
            data = sample_size(ctx, rendered)
            reset(args.postgres)
            ctx = context(folder, args.postgres, None, args.concurrency)
            add_members(ctx, args.messages)
            how = "processes calling send_pending"
        else:
            edition_id, data, render, variants = sample_edition(
                folder, args.postgres, args.messages, args.concurrency)
            how = (f"digest worker processes (the edition rendered and kept by the product "
                   f"beforehand: {render:.2f} s)")
        ctx.close()
        print(f"send: {args.messages} messages of {len(data)} bytes to smtp-sink, "
              f"{args.concurrency} connections per process, PostgreSQL, {how} "
              f"(load average before: {os.getloadavg()[0]:.2f})")
        number = 0
        ratios: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            pool = pool_send(data, args.messages, args.concurrency)
            source = source_send(args.messages, len(data), args.concurrency)
            ratios.setdefault("pool only, 1 process", []).append(source / pool)
            print(f"  pool only, 1 process   : {args.messages / pool:6.0f} msg/s, "
                  f"smtp-source -s {args.concurrency}: {args.messages / source:6.0f} msg/s, "
                  f"ratio {source / pool:.2f}")
            for processes in counts:
                number += 1
                cpu = ""
                if args.direct:
                    seconds, sent, used = outbox_run(folder, args.postgres, rendered, number,
                                                     processes, args.concurrency)
                    assert sent == args.messages, (sent, args.messages)
                    cpu = f", {used / sent * 1e6:.0f} µs CPU per message"
                else:
                    seconds, costs = workers_run(folder, args.postgres, edition_id, variants,
                                                 args.messages, processes, args.concurrency)
                    cpu = "; " + costs.per_message(args.messages)
                sessions = processes * args.concurrency
                source = source_send(args.messages, len(data), sessions)
                ratios.setdefault(f"outbox, {processes} process(es)", []).append(
                    source / seconds)
                print(f"  outbox, {processes} process(es): {args.messages / seconds:6.0f} "
                      f"msg/s, smtp-source -s {sessions:2d}: "
                      f"{args.messages / source:6.0f} msg/s, ratio {source / seconds:.2f}{cpu}  "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)
        if args.repeat > 1:  # this machine's rates vary from run to run, smtp-source's too
            for label, values in ratios.items():
                print(f"  median ratio, {label}: {statistics.median(values):.2f} "
                      f"({', '.join(f'{value:.2f}' for value in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
