"""The commands besides the main job, through the real ``digest`` command on sample content."""

from __future__ import annotations

import email
import shutil
from pathlib import Path

import feedparser
from pypdf import PdfReader

from tests.conftest import run_digest

BULLETIN = "sample/bulletins/2019-03-wg-smart-social-inclusion.md"


def test_preview_of_the_seed_bulletin_reports_each_placeholder_link_with_its_line(
        project: Path) -> None:
    result = run_digest(project, "preview", BULLETIN)
    assert result.returncode == 1, result.stderr  # placeholder links are errors
    lines = (project / BULLETIN).read_text().splitlines()
    expected = [number for number, line in enumerate(lines, 1)
                for _ in range(line.count("](#)"))]
    reported = [line for line in result.stdout.splitlines() if line.startswith("error:")
                and "#" in line]
    assert len(reported) == len(expected) == 7  # six [here](#) and one named link
    for number in sorted(set(expected)):
        assert any(f"{BULLETIN}:{number}:" in line for line in reported), number
    fixed = project / BULLETIN
    fixed.write_text(fixed.read_text().replace("](#)", "](https://example.org/)"))
    clean = run_digest(project, "preview", BULLETIN)
    assert clean.returncode == 0 and "error:" not in clean.stdout, clean.stdout


def test_preview_writes_each_form(project: Path) -> None:
    run_digest(project, "collect")
    for form, check in [("html", b"<!doctype html"), ("text", b"View in browser"),
                        ("mjml", b"<mjml"), ("pdf", b"%PDF-"), ("eml", b"MIME-Version: 1.0")]:
        target = project / f"preview.{form}"
        result = run_digest(project, "preview", "weekly", "--format", form, "--out", str(target))
        assert result.returncode == 0, result.stderr
        assert check.lower() in target.read_bytes()[:4000].lower(), form
    message = email.message_from_bytes((project / "preview.eml").read_bytes())
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_preview_infers_the_form_from_the_out_file(project: Path) -> None:
    target = project / "bulletin.pdf"
    result = run_digest(project, "preview", BULLETIN, "--out", str(target))
    assert result.returncode == 1, result.stderr  # written, with its placeholder links
    assert target.read_bytes().startswith(b"%PDF-")
    unknown = run_digest(project, "preview", BULLETIN, "--out", str(project / "x.doc"))
    assert unknown.returncode == 2 and "--format" in unknown.stderr


def test_preview_of_an_unknown_target_is_a_clear_error(project: Path) -> None:
    result = run_digest(project, "preview", "monthly")
    assert result.returncode == 2
    assert "'monthly' is neither a bulletin file nor a digest id (digests: weekly)" in \
        result.stderr
    assert "Traceback" not in result.stderr


def test_build_renders_without_sending_or_storing_an_edition(project: Path) -> None:
    run_digest(project, "collect")
    out = project / "built"
    result = run_digest(project, "build", "--out", str(out))
    assert result.returncode == 0, result.stderr
    edition = out / "editions" / "weekly" / "1"
    assert (edition / "sample.eml").is_file() and (edition / "weekly-1.pdf").is_file()
    metadata = PdfReader(edition / "weekly-1.pdf").metadata
    assert metadata is not None and metadata.title
    assert not (project / "out" / "outbox").exists()
    assert feedparser.parse((project / "feeds" / "all.rss").read_bytes()).entries
    status = run_digest(project, "status")
    assert "weekly/1" not in status.stdout, "build must not store an edition"
    # The real run afterwards still makes edition 1.
    run = run_digest(project, "run", "--once")
    assert "edition weekly/1: 17 items" in run.stdout


def test_send_test_copy_is_marked_and_not_recorded(project: Path) -> None:
    run_digest(project, "run", "--once")
    outbox = project / "out" / "outbox"
    before = set(outbox.iterdir())
    result = run_digest(project, "send", "weekly/1", "--test", "coordinator@example.org")
    assert result.returncode == 0, result.stderr
    new = set(outbox.iterdir()) - before
    assert len(new) == 1
    message = email.message_from_bytes(new.pop().read_bytes())
    assert str(message["Subject"]).startswith("[TEST]")
    assert message["To"].endswith("<coordinator@example.org>")
    status = run_digest(project, "status")
    assert "weekly/1 [sent] Social Affairs weekly: 5 sent" in status.stdout
    again = run_digest(project, "send", "weekly/1")
    assert again.returncode == 2 and "weekly/1 was sent already" in again.stderr
    missing = run_digest(project, "send", "weekly/9")
    assert missing.returncode == 2 and "no edition 'weekly/9'" in missing.stderr


def test_subscribers_commands(project: Path) -> None:
    assert run_digest(project, "subscribers", "import", "sample/subscribers.csv").stdout \
        .startswith("6 added")
    added = run_digest(project, "subscribers", "add", "New.Member@Example.org", "--name", "N",
                       "--themes", "culture")
    assert added.returncode == 0 and "added" in added.stdout
    again = run_digest(project, "subscribers", "add", "new.member@example.org")
    assert "already known" in again.stdout
    bad = run_digest(project, "subscribers", "add", "not-an-address")
    assert bad.returncode == 2 and "invalid email address" in bad.stderr
    unknown = run_digest(project, "subscribers", "add", "x@example.org", "--themes", "astrology")
    assert unknown.returncode == 2 and "astrology" in unknown.stderr
    removed = run_digest(project, "subscribers", "remove", "NEW.MEMBER@example.org")
    assert removed.returncode == 0
    listing = run_digest(project, "subscribers", "list").stdout
    assert "new.member@example.org\tunsubscribed\ten\tweekly\tculture" in listing
    assert "zoe.mueller@example.com\tactive\tde\tweekly\tculture;knowledge-society" in listing
    # An unsubscribed member is not resurrected by importing again.
    (project / "again.csv").write_text("email,name\nnew.member@example.org,N\n")
    run_digest(project, "subscribers", "import", "again.csv")
    assert "new.member@example.org\tunsubscribed" in run_digest(
        project, "subscribers", "list").stdout


def test_a_broken_source_fails_alone_and_keeps_what_was_stored(project: Path) -> None:
    assert run_digest(project, "collect").returncode == 0
    (project / "sample" / "feeds" / "innovation.rss").write_bytes(b"\x00garbage<<<")
    result = run_digest(project, "collect", now="2019-03-19T08:00:00+01:00")
    assert result.returncode == 1
    assert "source innovation: FAILED: source 'innovation'" in result.stdout
    assert "source social-innovation: 0 new" in result.stdout
    status = run_digest(project, "status", now="2019-03-19T08:00:00+01:00").stdout
    assert "items stored: 24" in status
    assert "innovation: failing (1x)" in status


def test_hostile_feed_content_stays_inert_in_every_output(project: Path) -> None:
    hostile = project / "sample" / "feeds" / "hostile.rss"
    hostile.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Hostile</title><link>https://evil.example.net/</link>
<description>x</description>
<item><title>Pledge &lt;script&gt;alert(1)&lt;/script&gt;
Bcc: victim@example.com</title><link>https://evil.example.net/a</link>
<guid>https://evil.example.net/a</guid><pubDate>Thu, 14 Mar 2019 10:00:00 +0100</pubDate>
<description>&lt;p onclick="steal()"&gt;Read &lt;a href="javascript:alert(2)"&gt;this&lt;/a&gt;
&lt;iframe src="https://evil.example.net/frame"&gt;&lt;/iframe&gt;
&lt;img src="data:image/png;base64,AAAA" onerror="steal()"&gt;&lt;/p&gt;</description>
<category>cooperation</category></item></channel></rss>""")
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace(
        "sources:\n", "sources:\n  - {id: hostile, type: feed, url: sample/feeds/hostile.rss}\n",
        1))
    result = run_digest(project, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = [*(project / "out").rglob("*.html"), *(project / "out").rglob("*.txt"),
               *(project / "out" / "outbox").glob("*.eml"), *(project / "feeds").glob("*.*")]
    assert outputs
    for path in outputs:
        text = path.read_text(errors="replace").lower()
        for bad in ("<script", "onclick", "javascript:", "<iframe", "onerror", "data:image"):
            assert bad not in text, (path.name, bad)
    for message in (project / "out" / "outbox").glob("*.eml"):
        parsed = email.message_from_bytes(message.read_bytes())
        assert parsed["Bcc"] is None
    pdf = project / "out" / "editions" / "weekly" / "1" / "weekly-1.pdf"
    assert "Pledge Bcc: victim@example.com" in " ".join(
        (PdfReader(pdf).pages[0].extract_text() or "").split())


def test_a_feed_of_xml_illegal_references_and_odd_links_publishes_valid_outputs(
        project: Path) -> None:
    """A reference XML forbids (``&#xD800;``) and a link Python cannot read failed the
    whole source; a link with spaces reached the feeds as no URL. Every entry is now
    collected and every feed, the OPML list and the outbox stay valid."""
    from lxml import etree

    hostile = project / "sample" / "feeds" / "hostile.rss"
    entries = [("Surrogate &#xD800;&#x110000;&#1;&#xFFFE; title", "https://evil.example.net/a"),
               ("Unreadable link", "https://[::1/x"),
               ("Spaced link", "https://evil.example.net/a b&lt;c&gt;")]
    hostile.write_text('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                       "<title>Hostile</title><link>https://evil.example.net/</link>" + "".join(
                           f"<item><title>{title}</title><link>{link}</link>"
                           f"<guid>urn:hostile:{n}</guid>"
                           f"<pubDate>Thu, 14 Mar 2019 1{n}:00:00 +0100</pubDate>"
                           "<description>&lt;img src=&quot;https://evil.example.net/i.png&quot;"
                           "&gt;</description><category>cooperation</category></item>"
                           for n, (title, link) in enumerate(entries))
                       + "</channel></rss>")
    config = project / "schedules.yaml"
    config.write_text(config.read_text().replace(
        "sources:\n", "sources:\n  - {id: hostile, type: feed, url: sample/feeds/hostile.rss}\n",
        1))
    result = run_digest(project, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "source hostile: 3 new" in result.stdout, result.stdout
    documents = [path for path in (project / "feeds").glob("*.*") if path.suffix != ".html"]
    assert len(documents) > 3
    links = []
    for path in documents:
        tree = etree.parse(str(path))  # raises on a document that is not well-formed XML
        links += [*tree.xpath("//link/text()"),
                  *tree.xpath("//*[local-name()='link']/@href")]
    assert "https://evil.example.net/a%20b%3Cc%3E" in links
    assert not [link for link in links if " " in link or "[" in link]
    for message in (project / "out" / "outbox").glob("*.eml"):
        assert email.message_from_bytes(message.read_bytes()).defects == []


def test_templates_are_packaged_into_the_wheel(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parent.parent
    source = tmp_path / "src"
    shutil.copytree(root, source, ignore=shutil.ignore_patterns(
        ".venv", "var", "out", ".git", "*.pyc", "__pycache__", ".mypy_cache", "feeds"))
    (source / "feeds").mkdir()
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                             "--no-build-isolation", "-w", str(tmp_path / "dist"), str(source)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 and "hatchling" in result.stderr:
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                                 str(tmp_path / "dist"), str(source)],
                                capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "digest/templates/email/digest.mjml.j2" in names
    assert "digest/templates/pdf/bulletin.html.j2" in names
    assert any(n.endswith("entry_points.txt") for n in names)
