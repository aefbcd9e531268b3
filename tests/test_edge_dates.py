"""Dates at the calendar's edges (year 1, year 9999, in zones that push them past it) in
every kind of source: the run goes on, each such entry is made harmless or left out and
said, and everything else is collected, published and composed."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.etree import ElementTree

from tests.conftest import ROOT, run_digest

FIXTURE = ROOT / "tests" / "fixtures" / "edge_dates"
ATOM = "{http://www.w3.org/2005/Atom}"


def test_edge_dates_in_every_source_never_stop_a_run(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path, dirs_exist_ok=True)
    result = run_digest(tmp_path, "run", "--once")
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode in (0, 1), result.stderr
    assert "FAILED" not in result.stdout, result.stdout
    feed = ElementTree.parse(tmp_path / "feeds" / "all.atom").getroot()
    titles = {entry.findtext(f"{ATOM}title") for entry in feed.iter(f"{ATOM}entry")}
    assert {"good", "rss good", "good event", "fine", "fine note"} <= titles
    for entry in feed.iter(f"{ATOM}entry"):
        year = int((entry.findtext(f"{ATOM}updated") or "0")[:4])
        assert 1900 <= year <= 2199, entry.findtext(f"{ATOM}title")
    assert "edition weekly/1" in result.stdout
    again = run_digest(tmp_path, "build", "--out", str(tmp_path / "built"))
    assert "Traceback" not in again.stderr and again.returncode in (0, 1)
