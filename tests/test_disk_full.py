"""A full disk (or any file that cannot be written) while publishing: the error names the
file, the previous version stays, the other steps of the run still run, nothing is marked
sent, and the next run, with room again, finishes the job.

A full disk is simulated where the kernel reports it for buffered writes: at ``fsync``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.cli import main
from digest.files import write_all_if_changed, write_atomic, write_if_changed
from tests.conftest import SAMPLE_BULLETIN_SLUG, SAMPLE_NOW, clean_sample_bulletin

REAL_FSYNC = os.fsync


def _fill_disk(monkeypatch: pytest.MonkeyPatch, under: Path | None = None) -> None:
    """Every ``fsync`` of a file (under ``under``, when given) fails with ENOSPC."""

    def fsync(descriptor: int) -> None:
        target = str(Path(f"/proc/self/fd/{descriptor}").readlink())
        if under is None or target.startswith(f"{under}/"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        REAL_FSYNC(descriptor)

    monkeypatch.setattr("digest.files.os.fsync", fsync)


WRITERS: dict[str, Callable[[Path, bytes], object]] = {
    "write_atomic": write_atomic,
    "write_if_changed": write_if_changed,
    "write_all_if_changed": lambda path, data: write_all_if_changed([(path, data)]),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_full_disk_names_the_file_and_keeps_the_old_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str) -> None:
    target = tmp_path / "all.atom"
    target.write_bytes(b"old")
    _fill_disk(monkeypatch)
    with pytest.raises(OSError) as raised:
        WRITERS[writer](target, b"new")
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(target), "the error names the file asked for"
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["all.atom"], "no temporary left"


def _run(project: Path, monkeypatch: pytest.MonkeyPatch, now: str = SAMPLE_NOW) -> int:
    for name in [name for name in os.environ if name.startswith("DIGEST_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(project)
    return main(["--now", now, "run", "--once"])


def test_a_full_disk_under_the_editions_costs_that_edition_only_until_the_next_run(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    editions = project / "out" / "editions"
    with monkeypatch.context() as full:
        _fill_disk(full, under=editions)
        assert _run(project, full) == 1
    out, err = capsys.readouterr()
    email_html = editions / "weekly" / "1" / "email.html"
    assert f": cannot write {email_html}: No space left on device\n" in out
    assert err == "", "one problem line in the summary, not an aborted run"
    assert (project / "feeds" / "all.atom").is_file(), "the feeds were still published"
    assert not list((project / "out" / "outbox").glob("*.eml")), "nothing sent unpublished"
    assert not [path for path in project.rglob("*.tmp")], "no temporary file left"

    assert _run(project, monkeypatch, "2019-03-18T08:10:00+01:00") == 0
    out, _ = capsys.readouterr()
    assert "messages sent: 5" in out
    assert (editions / "weekly" / "1" / "index.html").is_file()


def test_a_bulletin_that_cannot_be_written_is_reported_and_the_digest_still_goes_out(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    clean_sample_bulletin(project)
    folder = project / "out" / "bulletins" / SAMPLE_BULLETIN_SLUG
    with monkeypatch.context() as full:
        _fill_disk(full, under=folder)
        assert _run(project, full) == 1
    out, err = capsys.readouterr()
    assert (f"problem: bulletin {SAMPLE_BULLETIN_SLUG}: cannot write {folder}/email.html: "
            "No space left on device\n") in out
    assert err == ""
    assert "messages sent: 5" in out, "the weekly digest still went out"
    assert "edition weekly/1:" in out

    outbox = project / "out" / "outbox"
    digests = len(list(outbox.glob("*.eml")))

    assert _run(project, monkeypatch, "2019-03-18T08:10:00+01:00") == 0
    assert (folder / "index.html").is_file()
    assert len(list(outbox.glob("*.eml"))) > digests, "it went out once it was written"


def test_messages_put_off_by_a_full_outbox_say_why_in_the_summary_and_the_status(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    outbox = project / "out" / "outbox"
    with monkeypatch.context() as full:
        _fill_disk(full, under=outbox)
        assert _run(project, full) == 1
    out, _ = capsys.readouterr()
    problem = next(line for line in out.splitlines() if line.startswith("problem: weekly/1"))
    assert problem.startswith("problem: weekly/1: 0 refused, 5 deferred (last: could not write "
                              f"{outbox}/"), problem
    assert problem.endswith(".eml: No space left on device) (see digest status)"), problem
    assert problem.count(str(outbox)) == 1, "the file named once, without [Errno 28]"

    monkeypatch.chdir(project)
    assert main(["--now", SAMPLE_NOW, "status"]) == 0
    status, _ = capsys.readouterr()
    assert f"    deferred: 5 messages; last: could not write {outbox}/" in status
    assert ".eml: No space left on device\n" in status


@pytest.mark.parametrize(("blocked", "said"), [
    ("out/editions/weekly/1", "problem: digest weekly: cannot write {file}: "),
    ("out/outbox", "(last: could not write {file}: "),
    ("feeds", "problem: feeds: could not publish feeds to {file}: {file}: "),
])
def test_a_file_where_a_folder_goes_is_named_and_said(
        project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        blocked: str, said: str) -> None:
    """The system says only "File exists" (or "Not a directory"), with Python's errno."""
    file = project / blocked
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("not a folder")
    assert _run(project, monkeypatch) == 1
    out, _ = capsys.readouterr()
    assert said.format(file=file) + "a file stands where this folder goes" in out, out
    assert "[Errno" not in out and "File exists" not in out
