"""Sources benchmark: 100 feeds of 50 entries from local servers, first poll and re-poll.

What is measured is `digest collect` as the jobs run it (``digest.jobs.collect``): poll
every source concurrently, parse, clean, store into SQLite with each source's state. The
first poll reads and stores everything; the re-poll sends the stored validators and every
feed answers "304 Not Modified". Each phase runs in a fresh child process so that its peak
memory is its own: wall time (without tracing), peak RSS (``getrusage``) and its growth over
the process after imports, then the peak of Python allocations (``tracemalloc``, in a second
run of the phase, since tracing slows Python down). The servers run in another process and
count the requests and body bytes they sent.

The feeds are spread over 10 servers on 10 loopback addresses (127.0.0.1-10), so the
per-host limit (``collect.per_host``, default 2) acts as it would across real sites.

Run: ``.venv/bin/python benchmarks/sources_poll.py`` (``--feeds``, ``--entries`` change the
sizes). Results go to stdout as a table; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOSTS = 10
LAST_MODIFIED = formatdate(1552896000, usegmt=True)


def feed_body(number: int, entries: int) -> bytes:
    """An RSS 2.0 feed like a city network's news listing: HTML summaries, categories."""
    items = "".join(
        f"<item><title>Feed {number} story {n}: cities pledge action on social inclusion"
        f"</title><link>https://site{number}.example.org/news/{n}</link>"
        f"<guid>https://site{number}.example.org/news/{n}</guid>"
        f"<pubDate>Thu, {1 + n % 28:02d} Mar 2019 10:00:00 +0100</pubDate>"
        f"<category>cooperation</category><category>Knowledge Society</category>"
        f"<description>&lt;p&gt;The working group met in &lt;b&gt;Glasgow&lt;/b&gt; to "
        f"discuss how cities use technology for inclusion. &lt;a href=\"/more/{n}\"&gt;"
        f"Read more&lt;/a&gt; about the pledges, the lab and the next steps of the "
        f"network's members in {number} cities.&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;"
        f"</description></item>"
        for n in range(entries))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {number}</title><link>https://site{number}.example.org/</link>"
            f"<description>News</description>{items}</channel></rss>").encode()


# ---------------------------------------------------------------- the servers (own process)


def serve(feeds: int, entries: int, report: Connection) -> None:
    """Serve the feeds with validators until told to stop; then send the counts back."""
    bodies = {f"/feed/{n}.rss": feed_body(n, entries) for n in range(feeds)}
    counts = {"requests": 0, "not_modified": 0, "bytes": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = bodies.get(self.path)
            etag = f'"{hash(self.path) & 0xFFFF:x}"'
            fresh = self.headers.get("If-None-Match") == etag
            with lock:
                counts["requests"] += 1
                counts["not_modified"] += fresh
                counts["bytes"] += 0 if fresh or body is None else len(body)
            if body is None:
                self.send_error(404)
                return
            self.send_response(304 if fresh else 200)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            if fresh:
                self.end_headers()
                return
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    servers = [ThreadingHTTPServer((f"127.0.0.{host + 1}", 0), Handler) for host in range(HOSTS)]
    for server in servers:
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    report.send([server.server_address for server in servers])
    while True:
        command = report.recv()
        if command == "stop":
            break
        with lock:
            report.send(dict(counts))
            counts.update(requests=0, not_modified=0, bytes=0)
    for server in servers:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- one phase (own process)


def run_phase(config: str, trace: bool) -> dict[str, Any]:
    """Collect once with the config; wall time, peak RSS, and (traced) Python peak."""
    from digest.clock import parse_now
    from digest.config import Environment, load_settings
    from digest.jobs.collect import collect
    from digest.jobs.context import Context
    from digest.models import RunReport

    ctx = Context(settings=load_settings(config), env=Environment.read({}),
                  clock=parse_now("2019-03-18T08:00:00+01:00"))
    with ctx.db.transaction():
        pass  # open the database before measuring
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = RunReport()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    collect(ctx, report)
    wall = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] if trace else 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ctx.close()
    failed = [s.error for s in report.sources if s.error]
    return {"wall": wall, "peak_rss_kb": peak, "growth_kb": peak - baseline,
            "traced_peak": traced, "failed": failed,
            "new": sum(s.new for s in report.sources),
            "not_modified": sum(1 for s in report.sources if s.note == "not modified")}


def phase(config: Path, trace: bool) -> dict[str, Any]:
    result = subprocess.run([sys.executable, __file__, "--phase", str(config)]
                            + (["--trace"] if trace else []),
                            capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


# ---------------------------------------------------------------- the run


def write_config(folder: Path, addresses: list[tuple[str, int]], feeds: int) -> Path:
    sources = "\n".join(
        f'  - {{id: feed-{n}, type: feed, url: "http://{host}:{port}/feed/{n}.rss"}}'
        for n in range(feeds) for host, port in [addresses[n % len(addresses)]])
    config = folder / "schedules.yaml"
    config.write_text(f"""site:
  title: Benchmark
  base_url: https://forum.example.org/digest
  sender: {{name: Forum, address: forum@example.org}}
themes:
  cooperation: {{title: Cooperation}}
  knowledge-society: {{title: Knowledge society}}
sources:
{sources}
""")
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.trace)))
        return

    ours, theirs = multiprocessing.Pipe()
    servers = multiprocessing.Process(target=serve, args=(args.feeds, args.entries, theirs),
                                      daemon=True)
    servers.start()
    addresses = ours.recv()
    rows: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = write_config(Path(folder), addresses, args.feeds)
            for name in ("first poll", "re-poll"):
                measured = phase(config, trace=False)
                ours.send("counts")
                measured.update(ours.recv())
                if name == "first poll":  # the traced run of the first poll needs a fresh db
                    shadow = Path(folder) / "traced"
                    shadow.mkdir()
                    traced = phase(write_config(shadow, addresses, args.feeds), trace=True)
                else:
                    traced = phase(config, trace=True)
                ours.send("counts")
                ours.recv()
                measured["traced_peak"] = traced["traced_peak"]
                rows[name] = measured
    finally:
        ours.send("stop")
        servers.join(timeout=10)
    print_table(rows, args.feeds, args.entries)


def print_table(rows: dict[str, dict[str, Any]], feeds: int, entries: int) -> None:
    first, again = rows["first poll"], rows["re-poll"]
    mib = 1024.0
    print(f"sources: {feeds} feeds x {entries} entries, {HOSTS} local hosts, "
          f"collect defaults (concurrency 8, per_host 2)")
    print(f"{'phase':<12} {'wall s':>8} {'peak RSS MiB':>13} {'RSS growth MiB':>15} "
          f"{'traced peak MiB':>16} {'requests':>9} {'304s':>5} {'body KiB':>9} {'new':>6}")
    for name, row in rows.items():
        print(f"{name:<12} {row['wall']:>8.2f} {row['peak_rss_kb'] / mib:>13.1f} "
              f"{row['growth_kb'] / mib:>15.1f} {row['traced_peak'] / mib / 1024:>16.1f} "
              f"{row['requests']:>9} {row['not_modified']:>5} {row['bytes'] / 1024:>9.0f} "
              f"{row['new']:>6}")
    print(f"{'ratio re/1st':<12} {again['wall'] / first['wall']:>8.3f} "
          f"{again['peak_rss_kb'] / first['peak_rss_kb']:>13.2f} "
          f"{again['growth_kb'] / max(first['growth_kb'], 1):>15.3f} "
          f"{again['traced_peak'] / max(first['traced_peak'], 1):>16.3f}")
    for name, row in rows.items():
        if row["failed"]:
            print(f"{name}: {len(row['failed'])} sources failed, e.g. {row['failed'][0]}")


if __name__ == "__main__":
    main()
