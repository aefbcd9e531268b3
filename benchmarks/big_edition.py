"""Big input, bounded work: a first run over tens of thousands of new items.

A project gets ``--feeds`` feed files of ``--entries`` entries each, every entry new and
within ``max_age``, and runs the real command (``digest build`` by default, ``--command``
for another) in a child process. Measured: wall time, the child's peak RSS (``getrusage``),
and the size of every form written (email, web version, PDF) and of the feeds. The same
command runs first on a small baseline (``--baseline`` items in all) so the figures are
ratios taken in one run (the sources are collected first, timed apart, unless the command
collects itself, as ``run --once`` does): time and memory
per item at full size against the baseline show whether the cost stays linear, and the
forms' sizes show they stay bounded.

Run: ``.venv/bin/python benchmarks/big_edition.py [--command 'run --once']`` (defaults:
100 feeds x 500 entries, against a baseline of 10 x 50; ``digest build``).
docs/benchmarks.md records the results.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2019-03-18T08:00:00+01:00"

CONFIG = """\
site:
  title: Big Forum
  base_url: https://forum.example.org/digest
  timezone: Europe/Brussels
  sender: {{name: Big Forum, address: forum@example.org}}
themes:
  cooperation: {{title: Cooperation}}
  culture: {{title: Culture}}
sources:
{sources}
digests:
  - {{id: weekly, title: Weekly, themes: all, cron: "0 8 * * mon", max_items: 40, max_age: 30d}}
feeds: {{entries: 50}}
"""


def feed_body(number: int, entries: int) -> str:
    """An RSS 2.0 feed of ``entries`` new stories, all published in the week before NOW."""
    items = "".join(
        f"<item><title>Feed {number} story {n}: cities pledge action on social inclusion"
        f"</title><link>https://site{number}.example.org/news/{n}</link>"
        f"<guid>https://site{number}.example.org/news/{n}</guid>"
        f"<pubDate>{11 + n % 7:02d} Mar 2019 {n % 24:02d}:{n % 60:02d}:00 +0100</pubDate>"
        f"<category>{'cooperation' if n % 2 else 'culture'}</category>"
        f"<description>&lt;p&gt;The working group met in &lt;b&gt;Glasgow&lt;/b&gt; to "
        f"discuss how cities use technology for inclusion, story {n} of feed {number}."
        f"&lt;/p&gt;</description></item>"
        for n in range(entries))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {number}</title><link>https://site{number}.example.org/</link>"
            f"<description>News</description>{items}</channel></rss>")


def make_project(folder: Path, feeds: int, entries: int) -> Path:
    """A project whose sources are ``feeds`` local feed files."""
    (folder / "feeds-in").mkdir(parents=True)
    for number in range(feeds):
        (folder / "feeds-in" / f"f{number}.xml").write_text(feed_body(number, entries))
    sources = "\n".join(f"  - {{id: f{n}, type: feed, url: feeds-in/f{n}.xml, every: 1h}}"
                        for n in range(feeds))
    (folder / "schedules.yaml").write_text(CONFIG.format(sources=sources))
    return folder


def run(folder: Path, command: list[str]) -> dict[str, float]:
    """The command in a child process: wall seconds and the child's peak RSS in MiB."""
    script = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
              "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
              "w = time.perf_counter() - t; "
              "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode); "
              "sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    result = subprocess.run([sys.executable, "-c", script, sys.executable, "-m", "digest",
                             "--now", NOW, *command], cwd=folder, capture_output=True,
                            text=True, env=env, check=False)
    wall, rss_kib, code = result.stdout.split()
    if code not in ("0", "1"):
        raise SystemExit(f"digest {' '.join(command)} exited {code}:\n{result.stderr}")
    return {"seconds": float(wall), "rss_mib": int(rss_kib) / 1024}


def forms(folder: Path) -> dict[str, int]:
    """The bytes of every form written for the digest's edition and of the largest feed."""
    sizes: dict[str, int] = {}
    for path in folder.rglob("*"):
        if path.suffix in (".html", ".txt", ".pdf", ".eml", ".atom", ".rss") and path.is_file():
            kind = "feed" if path.suffix in (".atom", ".rss") else path.name
            sizes[kind] = max(sizes.get(kind, 0), path.stat().st_size)
    return sizes


def measure(feeds: int, entries: int, command: list[str]) -> tuple[dict[str, float],
                                                                     dict[str, int]]:
    """Collect everything first (``collect_seconds``), then time the command itself; a
    command that collects itself (``run --once``) is timed alone, from nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_project(Path(tmp), feeds, entries)
        collects_itself = command[0] == "run"
        collected = {"seconds": 0.0} if collects_itself else run(folder, ["collect"])
        figures = run(folder, command)
        figures["collect_seconds"] = collected["seconds"]
        return figures, forms(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--baseline", type=int, nargs=2, default=(10, 50),
                        metavar=("FEEDS", "ENTRIES"))
    parser.add_argument("--command", default="build --out built",
                        help="the digest command measured, as one string: 'run --once'")
    options = parser.parse_args()
    options.command = options.command.split()
    small_n = options.baseline[0] * options.baseline[1]
    big_n = options.feeds * options.entries
    small, small_forms = measure(*options.baseline, options.command)
    big, big_forms = measure(options.feeds, options.entries, options.command)
    print(f"digest {' '.join(options.command)}: first run over N new items")
    print(f"{'N':>8} {'collect s':>9} {'seconds':>9} {'peak MiB':>9}  largest forms (bytes)")
    for n, figures, sizes in ((small_n, small, small_forms), (big_n, big, big_forms)):
        shown = ", ".join(f"{k} {v:,}" for k, v in sorted(sizes.items()))
        print(f"{n:>8} {figures['collect_seconds']:>9.2f} {figures['seconds']:>9.2f} "
              f"{figures['rss_mib']:>9.0f}  {shown}")
    per_item = (big["seconds"] / big_n) / (small["seconds"] / small_n)
    print(f"items x{big_n / small_n:.0f}: time x{big['seconds'] / small['seconds']:.1f} "
          f"(per item x{per_item:.2f}), memory x{big['rss_mib'] / small['rss_mib']:.2f}")
    growth = {k: big_forms.get(k, 0) / v for k, v in small_forms.items() if v}
    print("forms at full size / baseline: "
          + ", ".join(f"{k} x{v:.2f}" for k, v in sorted(growth.items())))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    shutil.rmtree(ROOT / "benchmarks" / "__pycache__", ignore_errors=True)
    main()
