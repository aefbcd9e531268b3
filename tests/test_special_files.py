"""A FIFO, a device or a link where the product expects a user's file is refused at once.

Opening a FIFO for reading waits for a writer, so before issue 9 ``digest status`` hung on a
FIFO config and ``digest subscribers import`` on a FIFO CSV. Every user file is now opened
without blocking and read only if it is a regular file: one line, exit 2, no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from digest.bulletins import load_bulletins
from digest.config import load_settings
from digest.reading import NotRegularFileError, read_bounded

from .conftest import SAMPLE_NOW

TIMEOUT = 60  # a hang fails the test instead of blocking the suite


def digest_command(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``run_digest`` with a short timeout: these inputs used to block forever."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    return subprocess.run([sys.executable, "-m", "digest", "--now", SAMPLE_NOW, *args],
                          cwd=project, capture_output=True, text=True, env=environment,
                          timeout=TIMEOUT, check=False)


def assert_refused(result: subprocess.CompletedProcess[str], where: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "not a regular file" in line]
    assert len(lines) == 1 and where in lines[0], result.stderr


def test_a_fifo_config_is_refused(project: Path) -> None:
    (project / "schedules.yaml").unlink()
    os.mkfifo(project / "schedules.yaml")
    assert_refused(digest_command(project, "status"), "schedules.yaml")


def test_a_fifo_members_csv_is_refused(project: Path) -> None:
    os.mkfifo(project / "members.csv")
    assert_refused(digest_command(project, "subscribers", "import", "members.csv"),
                   "members.csv")


def test_a_fifo_opml_is_refused_and_the_config_kept(project: Path) -> None:
    before = (project / "schedules.yaml").read_bytes()
    os.mkfifo(project / "feeds.opml")
    assert_refused(digest_command(project, "sources", "import-opml", "feeds.opml"),
                   "feeds.opml")
    assert (project / "schedules.yaml").read_bytes() == before


def test_a_fifo_bulletin_is_refused(project: Path) -> None:
    os.mkfifo(project / "sample" / "bulletins" / "pipe.md")
    assert_refused(digest_command(project, "preview", "sample/bulletins/pipe.md"), "pipe.md")


def test_a_fifo_in_the_bulletin_folder_is_reported_and_the_others_load(project: Path) -> None:
    folder = project / "sample" / "bulletins"
    os.mkfifo(folder / "0-pipe.md")
    settings = load_settings(project / "schedules.yaml")
    loaded = load_bulletins(folder, settings)
    assert [b.slug for b in loaded.bulletins]  # the real bulletin still loads
    assert len(loaded.problems) == 1 and "0-pipe.md" in loaded.problems[0]
    assert "not a regular file" in loaded.problems[0]


def test_a_fifo_note_is_reported_and_the_other_notes_are_collected(project: Path) -> None:
    os.mkfifo(project / "sample" / "items" / "pipe.md")
    result = digest_command(project, "collect")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert "source notes: 1 new" in result.stdout
    [problem] = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert "pipe.md" in problem and "not a regular file" in problem, problem


@pytest.mark.parametrize("special", ["fifo", "device"])
def test_the_bounded_reader_refuses_what_is_not_a_regular_file(tmp_path: Path,
                                                               special: str) -> None:
    path = Path("/dev/zero") if special == "device" else tmp_path / "pipe"
    if special == "fifo":
        os.mkfifo(path)
    with pytest.raises(NotRegularFileError, match="not a regular file"):
        read_bounded(path, 1024)


def test_the_bounded_reader_reads_a_regular_file_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "real.yaml").write_bytes(b"a: 1\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    assert read_bounded(tmp_path / "link.yaml", 1024) == b"a: 1\n"


def test_serve_refuses_a_linked_key_and_leaves_its_target_alone(project: Path,
                                                                tmp_path: Path) -> None:
    shared = tmp_path / "shared_key"
    shared.write_text("0123456789abcdef" * 4 + "\n")
    shared.chmod(0o644)
    (project / "var").mkdir(mode=0o700)
    (project / "var" / "secret_key").symlink_to(shared)
    result = digest_command(project, "serve")
    assert_refused(result, "secret_key")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert shared.stat().st_mode & 0o777 == 0o644


def test_serve_refuses_a_fifo_key_at_once(project: Path) -> None:
    (project / "var").mkdir(mode=0o700)
    os.mkfifo(project / "var" / "secret_key")
    result = digest_command(project, "serve")
    assert_refused(result, "secret_key")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_key_in_the_environment_that_is_not_utf8_is_refused(project: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    environment["DIGEST_SECRET_KEY"] = os.fsdecode(b"abcdefghijklmnopqrstuvwxyz0123456789\xff")
    result = subprocess.run([sys.executable, "-m", "digest", "--now", SAMPLE_NOW, "status"],
                            cwd=project, capture_output=True, text=True, env=environment,
                            timeout=TIMEOUT, check=False)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "DIGEST_SECRET_KEY" in result.stderr and "not valid UTF-8" in result.stderr
