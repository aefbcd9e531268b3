"""Sources benchmark: 100 feeds of 50 entries from local servers, first poll and re-poll,
against the ``reader`` library on the same servers in the same run.

What is measured is `digest collect` as the jobs run it (``digest.jobs.collect``): poll
every source concurrently, parse (in parsing processes, ``collect.processes``), clean, store
into SQLite with each source's state. The first poll reads and stores everything; the
re-poll sends the stored validators and every feed answers "304 Not Modified". ``reader``
(``update_feeds(workers=8, scheduled=False)``, its own SQLite) does the same two polls.
Each phase runs in a fresh process, so that its memory is its own: wall time of the poll
alone (after imports and opening the database), the memory of the whole process tree
(``process_tree``: the sum of every process's peak RSS, and the highest sum of PSS), the
parent's RSS growth over the process after imports and, for this project, the peak of
Python allocations (``tracemalloc``, in a second run, since tracing slows Python down).
The servers run in another process and count the requests and body bytes they sent.

The feeds are spread over 10 servers on 10 loopback addresses (127.0.0.1-10), so the
per-host limit (``collect.per_host``, default 2) acts as it would across real sites.

Run: ``.venv/bin/python benchmarks/sources_poll.py`` (``--feeds``, ``--entries`` change the
sizes, ``--processes`` sets ``collect.processes``, ``--rounds`` repeats the comparison).
Results go to stdout as a table; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import multiprocessing
import os
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

from benchmarks.process_tree import TreeMemory  # noqa: E402

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


def run_ours(config: str, trace: bool) -> dict[str, Any]:
    """Collect once with the config; wall time, the tree's memory, (traced) Python peak."""
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
    tree = TreeMemory().start()
    started = time.perf_counter()
    collect(ctx, report)
    wall = time.perf_counter() - started
    memory = tree.stop()
    traced = tracemalloc.get_traced_memory()[1] if trace else 0
    ctx.close()
    return {"wall": wall, **memory, "growth_kb": memory["own_peak_kb"] - baseline,
            "traced_peak": traced, "failed": [s.error for s in report.sources if s.error],
            "new": sum(s.new for s in report.sources)}


def run_reader(folder: str) -> dict[str, Any]:
    """``reader`` polls the same feeds (``urls.txt``) into its own database in ``folder``.

    reader's vendored feedparser imports ``sgmllib`` (the sgmllib3k package), which the
    lock files do not hold; feedparser's own copy of it, ``feedparser_sgmllib``, stands in."""
    if importlib.util.find_spec("sgmllib") is None:
        sys.modules["sgmllib"] = importlib.import_module("feedparser_sgmllib")
    from reader import make_reader

    feeds = make_reader(str(Path(folder) / "reader.sqlite"))
    for url in (Path(folder) / "urls.txt").read_text().split():
        feeds.add_feed(url, exist_ok=True)
    before = feeds.get_entry_counts().total
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tree = TreeMemory().start()
    started = time.perf_counter()
    feeds.update_feeds(workers=8, scheduled=False)
    wall = time.perf_counter() - started
    memory = tree.stop()
    failed = [f"{feed.url}: {feed.last_exception}" for feed in feeds.get_feeds()
              if feed.last_exception]
    new = feeds.get_entry_counts().total - before
    feeds.close()
    return {"wall": wall, **memory, "growth_kb": memory["own_peak_kb"] - baseline,
            "traced_peak": 0, "failed": failed, "new": new}


def phase(*args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, __file__, "--phase", *args],
                            capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"phase {args} failed:\n{result.stderr}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------- the run


def write_config(folder: Path, urls: list[str], processes: int | None) -> Path:
    sources = "\n".join(f'  - {{id: feed-{n}, type: feed, url: "{url}"}}'
                        for n, url in enumerate(urls))
    collect = "" if processes is None else f"collect: {{processes: {processes}}}\n"
    config = folder / "schedules.yaml"
    config.write_text(f"""site:
  title: Benchmark
  base_url: https://forum.example.org/digest
  sender: {{name: Forum, address: forum@example.org}}
themes:
  cooperation: {{title: Cooperation}}
  knowledge-society: {{title: Knowledge society}}
{collect}sources:
{sources}
""")
    return config


def one_round(folder: Path, urls: list[str], processes: int | None, trace: bool,
              counts: Connection) -> dict[str, dict[str, Any]]:
    """Both polls by both, in turns: ours first poll, reader's, ours re-poll, reader's."""
    ours_dir, theirs_dir = folder / "digest", folder / "reader"
    ours_dir.mkdir(parents=True)
    theirs_dir.mkdir()
    (theirs_dir / "urls.txt").write_text("\n".join(urls))
    config = str(write_config(ours_dir, urls, processes))
    rows: dict[str, dict[str, Any]] = {}
    for poll in ("first poll", "re-poll"):
        for who, args in (("digest", ["ours", config]),
                          ("reader", ["reader", str(theirs_dir)])):
            row = phase(*args)
            counts.send("counts")
            row.update(counts.recv())
            rows[f"{who} {poll}"] = row
    if trace:  # the traced runs, on a fresh database
        shadow = folder / "traced"
        shadow.mkdir()
        traced = str(write_config(shadow, urls, processes))
        for poll in ("first poll", "re-poll"):
            rows[f"digest {poll}"]["traced_peak"] = phase("ours", traced, "--trace")[
                "traced_peak"]
        counts.send("counts")
        counts.recv()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--processes", type=int, default=None,
                        help="collect.processes for this project (default: unset, automatic)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        who, where = args.phase
        result = run_ours(where, args.trace) if who == "ours" else run_reader(where)
        print(json.dumps(result))
        return

    ours, theirs = multiprocessing.Pipe()
    servers = multiprocessing.Process(target=serve, args=(args.feeds, args.entries, theirs),
                                      daemon=True)
    servers.start()
    addresses = ours.recv()
    urls = [f"http://{host}:{port}/feed/{n}.rss"
            for n in range(args.feeds) for host, port in [addresses[n % len(addresses)]]]
    print(f"sources: {args.feeds} feeds x {args.entries} entries, {HOSTS} local hosts, "
          f"collect defaults (concurrency 8, per_host 2), processes "
          f"{'auto' if args.processes is None else args.processes}; reader: "
          f"update_feeds(workers=8, scheduled=False)")
    try:
        with tempfile.TemporaryDirectory() as folder:
            for number in range(args.rounds):
                load = os.getloadavg()[0]
                rows = one_round(Path(folder) / str(number), urls, args.processes,
                                 trace=number == 0, counts=ours)
                print_table(rows, load, os.getloadavg()[0])
    finally:
        ours.send("stop")
        servers.join(timeout=10)


def print_table(rows: dict[str, dict[str, Any]], load_before: float, load_after: float) -> None:
    mib = 1024.0
    print(f"load average {load_before:.2f} -> {load_after:.2f}")
    print(f"{'phase':<18} {'wall s':>7} {'cpu s':>11} {'tree peak MiB':>14} {'tree PSS MiB':>13} "
          f"{'procs':>5} {'growth MiB':>11} {'traced MiB':>11} {'requests':>8} {'304s':>5} "
          f"{'body KiB':>9} {'new':>5}")
    for name, row in rows.items():
        cpu = f"{row['own_cpu']:.2f}+{row['children_cpu']:.2f}"
        print(f"{name:<18} {row['wall']:>7.2f} {cpu:>11} {row['tree_peak_kb'] / mib:>14.1f} "
              f"{row['tree_pss_peak_kb'] / mib:>13.1f} {1 + row['children']:>5} "
              f"{row['growth_kb'] / mib:>11.1f} {row['traced_peak'] / mib / 1024:>11.1f} "
              f"{row['requests']:>8} {row['not_modified']:>5} {row['bytes'] / 1024:>9.0f} "
              f"{row['new']:>5}")
    for poll in ("first poll", "re-poll"):
        ours, theirs = rows[f"digest {poll}"], rows[f"reader {poll}"]
        print(f"{'digest/reader ' + poll:<26} wall {ours['wall'] / theirs['wall']:.2f}, "
              f"tree peak {ours['tree_peak_kb'] / theirs['tree_peak_kb']:.2f}, "
              f"tree PSS {ours['tree_pss_peak_kb'] / theirs['tree_pss_peak_kb']:.2f}")
    first, again = rows["digest first poll"], rows["digest re-poll"]
    print(f"digest re-poll / first poll: wall {again['wall'] / first['wall']:.3f}")
    for name, row in rows.items():
        if row["failed"]:
            print(f"{name}: {len(row['failed'])} sources failed, e.g. {row['failed'][0]}")


if __name__ == "__main__":
    main()
