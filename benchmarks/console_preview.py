"""The console's preview, refreshed warm: how long the HTML and the PDF of the sample edition
take once the draft changed (issue 11, section 7: at most 100 ms for the HTML, 300 ms for
the PDF), measured in one run on this machine and reported with ratios.

The sample project (``approval: true``) is run once (``digest run --once``) so the draft
``weekly/1`` (17 items) is stored. In this process the previews are then rendered once
(cold: imports, templates, fonts), and ``--rounds`` times after a change of the draft (its
editor's note rewritten, so the fingerprint changes and nothing is served from the cache):

- **HTML**: the fingerprint, the stored edition, the variant's email and the member's
  message built and read back (``Previews.edition``); as the full email and as a member;
- **PDF**: ``Previews.edition_pdf`` after the same change;
- **page**: what the browser asks after a change, over HTTP (Starlette's test client): the
  page, its two frames (the second from the cache) and the fingerprint poll;
- **poll**: the fingerprint alone, twice a second per open page;
- **bulletin**: the sample bulletin's HTML and PDF after its file changed.

Against them, **full render**: what ``digest preview weekly`` renders for one look (every
form: email, web version, PDF, and the check message), the cost without the preview's
per-part cache. Results go to stdout; docs/benchmarks.md records them.

Run: ``.venv/bin/python benchmarks/console_preview.py [--rounds 20]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.config import Environment, load_settings  # noqa: E402
from digest.identifiers import VariantKey  # noqa: E402
from digest.jobs.console_preview import Audience, Previews  # noqa: E402
from digest.jobs.context import Context  # noqa: E402
from digest.jobs.editions import stored_edition  # noqa: E402
from digest.jobs.manual import find_edition  # noqa: E402
from digest.jobs.prepare import prepare  # noqa: E402
from digest.store.schema import edition_notes  # noqa: E402
from digest.testing import ManualClock  # noqa: E402

NOW = "2019-03-18T08:00:00+01:00"
SLUG = "2019-03-wg-smart-social-inclusion"
MEMBER = "zoe.mueller@example.com"  # German, two themes: a variant of its own
CORA = "cora@example.org"
HTML_TARGET, PDF_TARGET = 0.100, 0.300


def make_project(folder: Path) -> Context:
    """The sample project with ``approval: true`` after one run, and a context on it."""
    shutil.copy(ROOT / "schedules.yaml", folder / "schedules.yaml")
    shutil.copytree(ROOT / "sample", folder / "sample")
    config = folder / "schedules.yaml"
    config.write_text(config.read_text().replace("approval: false", "approval: true")
                      + f"coordinators:\n  - {{email: {CORA}, name: Cora, role: editor}}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    subprocess.run([sys.executable, "-m", "digest", "--now", NOW, "run", "--once"],
                   cwd=folder, env=env, check=True, capture_output=True, timeout=600)
    return Context(settings=load_settings(config), env=Environment(None, None, None, None, None),
                   clock=ManualClock(datetime(2019, 3, 18, 7, 30, tzinfo=UTC)))


def timed(step: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one step (CPU: this process's, less sensitive to a loaded
    machine; rendering is single-threaded, so on an idle machine the two agree)."""
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


def rounds(count: int, change: Callable[[int], None],
           step: Callable[[], object]) -> list[tuple[float, float]]:
    """``step`` timed ``count`` times, each after ``change`` (so it renders, not caches)."""
    times = []
    for number in range(count):
        change(number)
        times.append(timed(step))
    return times


def median(times: list[tuple[float, float]], which: int = 0) -> float:
    return statistics.median(t[which] for t in times)


def show(label: str, times: list[tuple[float, float]], target: float | None = None) -> None:
    wall, cpu, worst = median(times), median(times, 1), max(t[0] for t in times)
    line = (f"  {label:<34} median {wall * 1000:6.1f} ms (CPU {cpu * 1000:6.1f} ms), "
            f"max {worst * 1000:6.1f} ms")
    if target:
        line += f"  [{wall / target:.2f} of the {target * 1000:.0f} ms target]"
    print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        ctx = make_project(Path(temporary))
        previews = Previews(ctx)
        row = find_edition(ctx, "weekly/1")

        def change_draft(number: int) -> None:
            with ctx.db.transaction() as connection:
                connection.execute(edition_notes.delete())
                connection.execute(edition_notes.insert().values(
                    edition_id=row.id, markdown=f"Note {number}", actor=CORA,
                    at=datetime.now(UTC)))

        cold_html = timed(lambda: previews.edition("weekly", 1))[0]
        cold_pdf = timed(lambda: previews.edition_pdf("weekly", 1))[0]
        print(f"sample edition weekly/1: {len(row.item_keys)} items; {args.rounds} rounds, "
              "each after a change of the draft")
        print(f"  cold (first in the process)       HTML {cold_html * 1000:.0f} ms, "
              f"PDF {cold_pdf * 1000:.0f} ms")
        html = rounds(args.rounds, change_draft, lambda: previews.edition("weekly", 1))
        member = rounds(args.rounds, change_draft, lambda: previews.edition(
            "weekly", 1, Audience(member=MEMBER)))
        pdf = rounds(args.rounds, change_draft, lambda: previews.edition_pdf("weekly", 1))
        show("HTML, full email", html, HTML_TARGET)
        show(f"HTML, as {MEMBER}", member, HTML_TARGET)
        show("PDF", pdf, PDF_TARGET)
        show("poll (fingerprint, unchanged)", rounds(args.rounds, lambda n: None,
                                                    lambda: previews.edition_fingerprint(
                                                        "weekly", 1)))
        show("HTML again, unchanged (cache)", rounds(args.rounds, lambda n: None,
                                                    lambda: previews.edition("weekly", 1)))
        page = http_refresh(ctx, args.rounds, change_draft)
        show("page + 2 frames + poll over HTTP", page, HTML_TARGET)

        digest = ctx.settings.digest("weekly")
        assert digest is not None
        edition = stored_edition(ctx, digest, row)
        full = rounds(max(3, args.rounds // 4), lambda n: None, lambda: prepare(
            ctx, edition, [VariantKey.everything()]))
        show("full render (digest preview)", full)
        print(f"  ratio full render / HTML refresh: "
              f"{median(full) / median(html):.1f}x")
        print(f"  load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        bulletin = Path(previews.bulletin(SLUG).source)
        text = bulletin.read_text(encoding="utf-8")

        def change_file(number: int) -> None:
            bulletin.write_text(text.replace("title: Updates", f"title: Updates {number}"),
                                encoding="utf-8")

        print(f"sample bulletin {SLUG}, after each change of its file")
        show("HTML", rounds(args.rounds, change_file, lambda: previews.bulletin(SLUG)),
             HTML_TARGET)
        show("PDF", rounds(args.rounds, change_file, lambda: previews.bulletin_pdf(SLUG)),
             PDF_TARGET)
        ctx.close()
    return 0


def http_refresh(ctx: Context, count: int,
                 change: Callable[[int], None]) -> list[tuple[float, float]]:
    """What a browser asks after a change: the page, its two frames, one poll."""
    sys.path.insert(0, str(ROOT))
    from tests.admin_client import signed_in

    client, _ = signed_in(ctx, CORA)
    base = "/admin/editions/weekly/1"

    def refresh() -> None:
        for path in (base, f"{base}/email.html?", f"{base}/email.html?",
                     f"{base}/fingerprint"):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)

    return rounds(count, change, refresh)


if __name__ == "__main__":
    sys.exit(main())
