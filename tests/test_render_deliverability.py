"""Deliverability of the sample digest and bulletin as members receive them (the outbox of
``digest run --once``): SpamAssassin with its local rules scores each below 2.0, the
hidden text is only the short preview line, and no quoted-printable line passes 76
characters (RFC 2045).

The scores and the rules that fired are printed (``pytest -s``) for the release notes.
"""

from __future__ import annotations

import email
import re
import subprocess
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import approve_sample_bulletin, run_digest
from tests.external_tools import spamassassin_command

SPAM_LIMIT = 2.0
PREVIEW_LIMIT = 150  # the preheader is at most 140 characters


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The real messages: Anna's digest (English, every theme) and her bulletin."""
    from tests.conftest import ROOT

    project = tmp_path_factory.mktemp("deliverability")
    (project / "schedules.yaml").write_bytes((ROOT / "schedules.yaml").read_bytes())
    subprocess.run(["cp", "-r", str(ROOT / "sample"), str(project / "sample")], check=True)
    approve_sample_bulletin(project)
    result = run_digest(project, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    found: dict[str, Path] = {}
    for path in sorted((project / "out" / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if "anna.kowalska" not in str(message["To"]):
            continue
        kind = "digest" if "Social Affairs weekly" in str(message["Subject"]) else "bulletin"
        found[kind] = path
    assert set(found) == {"digest", "bulletin"}
    return found


def spam_report(path: Path) -> tuple[float, list[str]]:
    result = subprocess.run(spamassassin_command(), stdin=path.open("rb"),
                            capture_output=True, timeout=300, check=False)
    out = result.stdout.decode("utf-8", "replace")
    match = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", out, re.MULTILINE)
    assert match, out[-2000:]
    details = out[out.index("Content analysis details"):] if "Content analysis" in out else ""
    rules = re.findall(r"^\s*(-?\d+\.\d+)\s+([A-Z0-9_]+)\s", details, re.MULTILINE)
    return float(match.group(1)), [f"{name} {points}" for points, name in rules]


@pytest.mark.parametrize("kind", ["digest", "bulletin"])
def test_spamassassin_scores_below_two(outbox: dict[str, Path], kind: str) -> None:
    score, rules = spam_report(outbox[kind])
    print(f"\nSpamAssassin {kind}: {score} ({', '.join(rules) or 'no rule'})")
    assert score < SPAM_LIMIT, (score, rules)


class _Hidden(HTMLParser):
    """The text inside elements styled ``display:none`` (the preview line, and nothing else
    should be there)."""

    VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "col", "source", "area"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        style = (dict(attrs).get("style") or "").replace(" ", "").lower()
        self.stack.append((bool(self.stack) and self.stack[-1]) or "display:none" in style)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] and data.strip():
            self.hidden.append(data.strip())


@pytest.mark.parametrize("kind", ["digest", "bulletin"])
def test_no_long_invisible_text(outbox: dict[str, Path], kind: str) -> None:
    message = email.message_from_bytes(outbox[kind].read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("html",))
    assert body is not None
    parser = _Hidden()
    parser.feed(body.get_content())
    hidden = " ".join(parser.hidden)
    assert 0 < len(hidden) <= PREVIEW_LIMIT, hidden


@pytest.mark.parametrize("kind", ["digest", "bulletin"])
def test_quoted_printable_lines_stay_within_76(outbox: dict[str, Path], kind: str) -> None:
    raw = outbox[kind].read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Transfer-Encoding: quoted-printable" in body
    lines = body.split(b"\r\n")
    assert max(len(line) for line in lines) <= 76
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
