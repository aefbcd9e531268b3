"""The PDFs: checked by metadata, page size, outline, links and extracted text, never bytes."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, PdfObject, StreamObject

from digest.render.pdf import (
    _fetcher,
    css_string,
    page_label,
    render_bulletin_pdf,
    render_edition_pdf,
)
from digest.render.templating import template_dirs
from tests.support import (
    ALL_ITEMS,
    BULLETIN_LINKS,
    EVENTS,
    LINKS,
    SEED_004_SECTION_TITLES,
    make_bulletin,
    make_edition,
    make_settings,
)


def flat_text(reader: PdfReader) -> str:
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def outline_titles(outline: list) -> list[str]:  # type: ignore[type-arg]
    titles: list[str] = []
    for entry in outline:
        if isinstance(entry, list):
            titles += outline_titles(entry)
        else:
            titles.append(entry.title)
    return titles


@pytest.fixture(scope="module")
def bulletin_pdf() -> PdfReader:
    settings = make_settings()
    data = render_bulletin_pdf(make_bulletin(settings, upcoming=(EVENTS[1],)), settings,
                               BULLETIN_LINKS)
    assert data.startswith(b"%PDF")
    return PdfReader(io.BytesIO(data))


def test_bulletin_pdf_holds_every_section(bulletin_pdf: PdfReader) -> None:
    text = flat_text(bulletin_pdf)
    for title in SEED_004_SECTION_TITLES:
        assert title in text
    assert "25–27 March 2019, Glasgow" in text
    assert "Fomenting social enterprise" in text
    assert "Social Affairs Forum meeting - 22-24 October, Warsaw" in text  # upcoming event
    assert "financial support from the European Union" in text


def test_bulletin_pdf_metadata(bulletin_pdf: PdfReader) -> None:
    meta = bulletin_pdf.metadata
    assert meta is not None
    assert meta.title == "Updates from WG Smart Social Inclusion – 25–27 March 2019"
    assert meta.author == "EUROCITIES Social Affairs Forum"
    assert meta.subject and meta.subject.startswith("Working group meeting in Stuttgart")
    assert str(bulletin_pdf.root_object["/Lang"]) == "en"


def test_bulletin_pdf_is_a4_with_page_numbers_and_running_header(bulletin_pdf: PdfReader) -> None:
    pages = len(bulletin_pdf.pages)
    assert pages >= 2
    for number, page in enumerate(bulletin_pdf.pages, start=1):
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)
        text = " ".join(page.extract_text().split())
        assert f"Page {number} of {pages}" in text
        assert "WG Smart Social Inclusion" in text and "EUROCITIES Social Affairs Forum" in text


def test_bulletin_pdf_outline_and_links(bulletin_pdf: PdfReader) -> None:
    titles = outline_titles(bulletin_pdf.outline)
    assert titles[0] == "Updates from WG Smart Social Inclusion"
    assert "1. Working group meeting in Stuttgart on 24 October" in titles
    assert "Upcoming meetings and activities" in titles
    uris = [annotation.get_object()["/A"].get("/URI")
            for page in bulletin_pdf.pages for annotation in page.get("/Annots", [])
            if annotation.get_object().get("/Subtype") == "/Link"
            and "/A" in annotation.get_object()]
    assert "http://ec.europa.eu/social/easi" in uris
    assert EVENTS[1].link in uris


def test_pdfs_are_tagged_for_accessibility(bulletin_pdf: PdfReader) -> None:
    root = _dictionary(bulletin_pdf.trailer["/Root"])
    assert "/StructTreeRoot" in root
    assert bool(_dictionary(root["/MarkInfo"])["/Marked"])
    assert bool(_dictionary(root["/ViewerPreferences"])["/DisplayDocTitle"])
    metadata = root["/Metadata"].get_object()
    assert isinstance(metadata, StreamObject)
    xmp = metadata.get_data()
    assert b"pdfuaid:part" in xmp and b"Updates from WG Smart Social Inclusion" in xmp


def test_edition_pdf_header_pages_and_outline() -> None:
    data = render_edition_pdf(make_edition(), make_settings(), LINKS)
    reader = PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert pages >= 3
    for number, page in enumerate(reader.pages, start=1):
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (
            595, 842)
        text = " ".join(page.extract_text().split())
        assert f"Page {number} of {pages}" in text
        assert "EUROCITIES Social Affairs Forum" in text and "Social Affairs weekly" in text
    assert outline_titles(reader.outline)[:2] == ["Social Affairs weekly #12", "News"]
    meta = reader.metadata
    assert meta is not None and meta.author == "EUROCITIES Social Affairs Forum"
    assert meta.subject and meta.subject.startswith("Turin citizens panel")
    assert str(_dictionary(reader.trailer["/Root"])["/Lang"]) == "en"
    uris = {_dictionary(annotation.get_object()["/A"]).get("/URI")
            for page in reader.pages for annotation in page.get("/Annots", [])
            if "/A" in annotation.get_object()}
    assert ALL_ITEMS[0].link in uris


def test_a_french_pdf_says_so() -> None:
    settings = make_settings(language="fr")
    reader = PdfReader(io.BytesIO(render_edition_pdf(make_edition(), settings, LINKS)))
    assert str(_dictionary(reader.trailer["/Root"])["/Lang"]) == "fr"
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Page 1 sur" in text and "Actualités" in text


def test_edition_pdf_lists_every_item_and_extra_ones() -> None:
    extra = replace(ALL_ITEMS[0], key="extra", title="Warsaw adopts a social housing plan")
    data = render_edition_pdf(make_edition(omitted=1), make_settings(), LINKS, [extra])
    reader = PdfReader(io.BytesIO(data))
    text = flat_text(reader)
    for item in [*ALL_ITEMS, extra]:
        assert item.title in text
    assert reader.metadata is not None
    assert reader.metadata.title == "Social Affairs weekly #12 – 18 March 2019"
    assert {"News", "Events", "Case studies", "Publications"} <= set(
        outline_titles(reader.outline))


class _Counter(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_nothing_is_fetched_from_the_network(http_server: str, tmp_path: Path) -> None:
    _Counter.hits.clear()
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    summary = (f'<p>Map: <img src="{http_server}/map.png" alt="A map">'
               f'<img src="{secret.as_uri()}" alt="Local file"></p>')
    item = replace(ALL_ITEMS[0], summary_html=summary)
    data = render_edition_pdf(make_edition([item]), make_settings(), LINKS)
    assert data.startswith(b"%PDF")
    assert _Counter.hits == []


def test_the_fetcher_opens_only_template_files_and_data() -> None:
    roots = template_dirs(make_settings())
    fetcher = _fetcher(roots)
    with pytest.raises(ValueError, match="no network"):
        fetcher.fetch("https://example.org/style.css")
    with pytest.raises(ValueError, match="outside the template folders"):
        fetcher.fetch("file:///etc/passwd")
    css = (roots[-1] / "pdf" / "print.css").as_uri()
    response = fetcher.fetch(css)
    assert b"size: A4" in response.read()
    response.close()


def test_css_strings_are_escaped() -> None:
    assert str(css_string('WG "Smart" </style>')) == '"WG \\"Smart\\" \\3C /style\\3E "'
    assert str(page_label("en")) == '"Page " counter(page) " of " counter(pages)'
    assert str(page_label("de")) == '"Seite " counter(page) " von " counter(pages)'


def _dictionary(value: PdfObject) -> DictionaryObject:
    """A PDF object known to be a dictionary, resolved (pypdf types every value alike)."""
    resolved = value.get_object()
    assert isinstance(resolved, DictionaryObject)
    return resolved
