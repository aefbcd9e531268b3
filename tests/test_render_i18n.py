"""Languages: every label of the templates in English, French and German from gettext
catalogs, dates by Babel, English as the fallback, and one render per (language, themes)."""

from __future__ import annotations

import dataclasses
import email
import re
from datetime import UTC, date, datetime
from email import policy
from email.message import Message
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from digest.compose import member_variant_key, variants_for
from digest.identifiers import VariantKey
from digest.models import EventInfo, Kind, Subscriber
from digest.render.email import render_edition_email
from digest.render.feeds import FeedTemplates
from digest.render.i18n import LOCALES_DIR, SHIPPED, section_label, translate
from digest.render.pdf import page_label
from digest.render.text import render_edition_text
from tests.conftest import ROOT, run_digest
from tests.support import EVENTS, LINKS, make_edition, make_settings
from tests.test_render_email import visible

TRANSLATED = [language for language in SHIPPED if language != "en"]


def extracted_labels() -> set[str]:
    """Every label the templates and renderers mark, extracted as ``pybabel extract`` does
    with babel.cfg (so a new label without translations fails here)."""
    method_map = [("**.py", "python"), ("**.j2", "jinja2")]
    options = {"**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                         "lstrip_blocks": "true"}}
    labels: set[str] = set()
    for folder in (ROOT / "digest" / "render", ROOT / "templates"):
        for _, _, message, _, _ in extract_from_dir(
                str(folder), method_map, options_map=options,
                keywords={"N_": None, "_": None, "ngettext": (1, 2)}):
            labels.add(message if isinstance(message, str) else message[0])
    return labels


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_label_is_translated_and_compiled(language: str) -> None:
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    with (folder / "digest.po").open("rb") as handle:
        po = read_po(handle)
    with (folder / "digest.mo").open("rb") as handle:
        mo = read_mo(handle)
    labels = extracted_labels()
    assert len(labels) >= 15
    translated = {}
    for message in po:
        if message.id:
            key = message.id if isinstance(message.id, str) else message.id[0]
            assert "fuzzy" not in message.flags, key
            assert all(message.string) if isinstance(message.string, tuple) else \
                message.string, key
            translated[key] = (tuple(message.string) if isinstance(message.string, list | tuple)
                               else message.string)
    assert labels <= set(translated), f"untranslated: {sorted(labels - set(translated))}"
    compiled = {(m.id if isinstance(m.id, str) else m.id[0]):
                (tuple(m.string) if isinstance(m.string, list | tuple) else m.string)
                for m in mo if m.id}
    assert compiled == translated, "run `pybabel compile -D digest -d digest/render/locales`"


def test_labels_in_each_language_and_the_english_fallback() -> None:
    assert translate("fr", "View in browser") == "Voir dans le navigateur"
    assert translate("de-AT", "Unsubscribe") == "Abmelden"
    assert translate("fr_BE", "Archive") == "Archives"
    assert translate("es", "View in browser") == "View in browser"  # no catalog: English
    assert translate("fr", "A label nobody translated") == "A label nobody translated"
    assert section_label(Kind.EVENT, "de") == "Veranstaltungen"
    assert section_label(Kind.NEWS, "fr") == "Actualités"
    assert str(page_label("fr")) == '"Page " counter(page) " sur " counter(pages)'


@pytest.mark.parametrize(("language", "words", "date"), [
    ("fr", ["Voir dans le navigateur", "Actualités", "Événements", "Se désabonner",
            "Archives", "3 de plus dans la version web"], "22–24 octobre 2019"),
    ("de", ["Im Browser ansehen", "Neuigkeiten", "Veranstaltungen", "Abmelden", "Archiv",
            "3 weitere in der Webversion"], "22.–24. Oktober 2019"),
    ("en", ["View in browser", "News", "Events", "Unsubscribe", "Archive",
            "3 more in the web version"], "22–24 October 2019"),
])
def test_an_email_in_each_language(language: str, words: list[str], date: str) -> None:
    rendered = render_edition_email(make_edition(omitted=3), make_settings(), LINKS,
                                    language=language)
    shown = visible(rendered.html)
    text = render_edition_text(make_edition(omitted=3), make_settings(), LINKS, language)
    for word in words:
        assert word in shown, word
    assert date in shown and date in text
    assert re.search(rf'<html[^>]* lang="{language}"', rendered.html)
    assert rendered.language == language


def test_the_site_language_is_the_default() -> None:
    rendered = render_edition_email(make_edition(), make_settings(language="de"), LINKS)
    assert rendered.language == "de" and "Im Browser ansehen" in rendered.html


def test_variant_keys_carry_the_language_but_not_for_the_site_language() -> None:
    assert str(VariantKey.of(("culture", "cooperation"), "fr")) == "fr:cooperation+culture"
    assert str(VariantKey.of((), None)) == "all" == str(VariantKey.everything())
    assert VariantKey.parse("fr:cooperation+culture") == VariantKey(
        "fr", frozenset({"cooperation", "culture"}))
    assert VariantKey.parse("de:all") == VariantKey("de")
    assert VariantKey.parse("all") == VariantKey.everything()
    assert VariantKey.parse("cooperation") == VariantKey(None, frozenset({"cooperation"}))
    for text in ("all", "de:all", "cooperation+culture", "fr:cooperation"):
        assert str(VariantKey.parse(text)) == text

    def member(language: str, themes: tuple[str, ...] = ()) -> Subscriber:
        return Subscriber(email=f"{language}{len(themes)}@example.org", name="",
                          language=language, digests=("weekly",), themes=themes)

    assert str(member_variant_key(member("en"), "en")) == "all"
    assert str(member_variant_key(member("FR", ("cooperation",)), "en")) == "fr:cooperation"
    members = [member("en"), member("en"), member("fr"), member("fr"),
               member("de", ("culture",)), member("fr", ("culture",))]
    variants = variants_for(make_edition(), members, "en")
    assert {str(key) for key in variants} == {"all", "fr:all", "de:culture", "fr:culture"}
    de, fr = VariantKey.parse("de:culture"), VariantKey.parse("fr:culture")
    assert variants[de].edition.items == variants[fr].edition.items


def _by_recipient(project: Path) -> dict[str, list[Message]]:
    found: dict[str, list[Message]] = {}
    for path in sorted((project / "out" / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        found.setdefault(str(message["To"]), []).append(message)
    return found


def _html(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode("utf-8")
    raise AssertionError("no HTML part")


def test_each_member_gets_the_digest_in_their_language(project: Path) -> None:
    result = run_digest(project, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "weekly/1: 17 items, 5 variants" in result.stdout  # not one render per member
    messages = _by_recipient(project)
    expected = {"François": ("fr", "Voir dans le navigateur"),
                "Zoë": ("de", "Im Browser ansehen"),
                "Claire": ("fr", "Se désabonner"),
                "Anna": ("en", "View in browser")}
    for name, (language, label) in expected.items():
        (digest,) = [m for to, ms in messages.items() if name in to for m in ms
                     if "weekly" in str(m["Subject"])]
        assert digest["Content-Language"] == language
        html = _html(digest)
        assert label in html, (name, label)
        assert re.search(rf'<html[^>]* lang="{language}"', html)
    # the site language (en) keeps its own wording in the subject; French dates for French
    french = next(m for to, ms in messages.items() if "Claire" in to for m in ms
                  if "weekly" in str(m["Subject"]))
    assert "18 mars 2019" in str(french["Subject"])


def test_the_older_t_spelling_still_works_in_project_templates(tmp_path: Path) -> None:
    from digest.render.templating import make_environment

    template = make_environment(make_settings(tmp_path)).from_string(
        "{{ t('View in browser') }} | {{ _('%(num)d more in the web version', num=2) }}")
    assert template.render(language="fr") == (
        "Voir dans le navigateur | 2 de plus dans la version web")


@pytest.mark.parametrize(("language", "when", "where"),
                         [("fr", "Quand :", "Où :"), ("de", "Wann:", "Wo:")])
def test_a_feed_s_event_note_reads_in_the_site_s_language(language: str, when: str,
                                                          where: str) -> None:
    notes = FeedTemplates(make_settings(language=language))
    timed = EventInfo(datetime(2019, 4, 2, 7, 30, tzinfo=UTC), None, "Gand & Bruges")
    note = notes.event_note(dataclasses.replace(EVENTS[0], event=timed))
    assert note.startswith(f'<p class="event-when"><strong>{when}</strong> ')
    assert note.endswith(f"09:30 (CEST)<br><strong>{where}</strong> Gand &amp; Bruges</p>")
    all_day = notes.event_note(dataclasses.replace(EVENTS[0], event=EventInfo(date(2019, 4, 2))))
    assert "(" not in all_day  # a day has no time, so no zone to name
