"""Theme titles per language: the config accepts one title or one per language, refuses a
wrong mapping at its line, and every form names a theme in the language it is written in."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader

from digest.compose import variant_of
from digest.config import Settings, load_settings
from digest.config.bulletin_meta import themes_of
from digest.errors import ConfigError
from digest.identifiers import VariantKey
from digest.languages import nearest
from digest.models import Edition, Item, Kind
from digest.publish import publish_feeds
from digest.render.email import render_edition_email, render_edition_mjml
from digest.render.feeds import FeedTemplates
from digest.render.pdf import render_edition_pdf
from digest.render.web import render_edition_web
from digest.sources.clean.themes import ThemeMapper
from digest.testing import build_settings
from digest.theme_titles import theme_title, theme_titles, titles_of
from tests.conftest import ROOT
from tests.support import BASE, LINKS, make_edition

ATOM = "{http://www.w3.org/2005/Atom}"
ECONOMY = {"title": {"en": "Economy", "fr": "Économie", "de": "Wirtschaft"}}
CULTURE = {"title": {"en": "Culture", "fr": "Culture", "de": "Kultur"}}

CONFIG = """\
site:
  title: Forum
  base_url: https://forum.example.org/digest
  language: {language}
  timezone: Europe/Brussels
  sender: {{name: Forum, address: forum@example.org}}
themes:
  cooperation: {{title: Cooperation}}
  economy:
    title:
{titles}
digests:
  - {{id: weekly, title: Weekly, cron: "0 8 * * mon"}}
"""


def write_config(tmp_path: Path, titles: str, language: str = "en") -> Path:
    path = tmp_path / "schedules.yaml"
    path.write_text(CONFIG.format(language=language, titles=titles))
    return path


def refused(path: Path) -> dict[str, tuple[int | None, str]]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return {p.key: (p.line, p.message) for p in caught.value.problems}


def settings_with(language: str = "en", **extra: object) -> Settings:
    return build_settings(ROOT, site={"base_url": BASE, "language": language},
                          themes={"cooperation": "Cooperation", "economy": ECONOMY,
                                  "culture": CULTURE}, **extra)


# ---------------------------------------------------------------- the config


def test_a_title_per_language_and_a_plain_title_both_load(tmp_path: Path) -> None:
    path = write_config(tmp_path, "      en: Economy\n      fr: Économie\n      de: Wirtschaft")
    settings = load_settings(path)
    assert settings.themes["cooperation"].title == "Cooperation"
    assert settings.themes["cooperation"].titles == {}
    assert settings.themes["economy"].title == "Economy"
    assert theme_titles(settings, "de") == {"cooperation": "Cooperation",
                                            "economy": "Wirtschaft"}


def test_the_site_language_title_is_the_theme_title_whatever_the_order(tmp_path: Path) -> None:
    path = write_config(tmp_path, "      en: Economy\n      fr: Économie", language="fr")
    settings = load_settings(path)
    assert settings.themes["economy"].title == "Économie"  # feeds, console: the site's
    assert theme_title(settings, "economy") == "Économie"
    assert theme_title(settings, "economy", "en") == "Economy"
    assert [t.title for t in settings.theme_list()] == ["Cooperation", "Économie"]


def test_a_site_with_a_regional_language_takes_its_primary_title(tmp_path: Path) -> None:
    path = write_config(tmp_path, "      fr: Économie\n      en: Economy", language="en-GB")
    assert load_settings(path).themes["economy"].title == "Economy"


def test_a_mapping_without_the_site_language_is_refused_at_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "      fr: Économie\n      de: Wirtschaft")
    problems = refused(path)
    assert list(problems) == ["themes.economy.title"]
    line, message = problems["themes.economy.title"]
    assert line == 10
    assert "no title in the site's language 'en'" in message and "de, fr" in message


def test_a_key_that_is_no_language_tag_is_refused_at_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "      en: Economy\n      french!: Économie\n      de: ' '")
    problems = refused(path)
    assert problems["themes.economy.title.french!"][0] == 12
    assert "not a language tag" in problems["themes.economy.title.french!"][1]
    assert problems["themes.economy.title.de"] == (13, "the title is blank")
    assert len(problems) == 2


def test_an_empty_mapping_and_a_titles_key_are_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "      {}")
    problems = refused(path)
    assert list(problems) == ["themes.economy.title"]
    assert "an empty mapping" in problems["themes.economy.title"][1]
    path.write_text(CONFIG.format(language="en", titles="      Economy")
                    .replace("    title:\n      Economy", "    title: Economy\n"
                             "    titles: {fr: Économie}"))
    problems = refused(path)
    assert any("unknown key 'titles'" in message for _, message in problems.values())


def test_a_title_that_is_no_text_is_one_problem_at_title(tmp_path: Path) -> None:
    path = write_config(tmp_path, "      en: Economy\n      fr:\n      de: [Wirtschaft]")
    problems = refused(path)
    assert list(problems) == ["themes.economy.title"]
    line, message = problems["themes.economy.title"]
    assert line == 10 and message.startswith("fr: expected the title as text, got None")
    path = write_config(tmp_path, "      [Economy, Économie]")
    assert "got ['Economy', 'Économie']" in refused(path)["themes.economy.title"][1]


def test_a_bad_title_mapping_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    path = write_config(tmp_path, "      fr: Économie")
    path.write_text(path.read_text().replace('cron: "0 8 * * mon"', 'cron: "0 8 * * funday"'))
    problems = refused(path)
    assert "themes.economy.title" in problems and "digests[0].cron" in problems


def test_the_shipped_config_names_its_themes_in_french_and_german() -> None:
    settings = load_settings(ROOT / "schedules.yaml")
    assert theme_titles(settings, "fr")["economy"] == "Économie"
    assert theme_titles(settings, "de")["knowledge-society"] == "Wissensgesellschaft"
    assert theme_titles(settings)["cooperation"] == "Cooperation"


# ---------------------------------------------------------------- which title a reader gets


def test_the_nearest_language_is_read_else_the_site_title() -> None:
    settings = settings_with()
    assert theme_title(settings, "economy", "fr-BE") == "Économie"
    assert theme_title(settings, "economy", "DE_at") == "Wirtschaft"
    assert theme_title(settings, "economy", "es") == "Economy"
    assert theme_title(settings, "cooperation", "fr") == "Cooperation"  # one title for all
    assert theme_title(settings, "astrology", "fr") == "astrology"  # removed since
    assert titles_of(settings, ["culture", "economy"], "de") == ["Kultur", "Wirtschaft"]


def test_nearest_prefers_the_exact_then_broader_then_a_sibling_tag() -> None:
    assert nearest("fr-BE", ["fr", "fr-BE"]) == "fr-BE"
    assert nearest("fr-be", ["en", "fr"]) == "fr"
    assert nearest("fr", ["en", "fr-FR"]) == "fr-FR"
    assert nearest("pt-BR", ["en", "es"]) is None
    assert nearest(None, ["en"]) is None


def test_a_title_in_any_language_files_items_and_bulletins_under_the_theme() -> None:
    settings = settings_with()
    index = ThemeMapper(settings.theme_list())
    assert index.slug_for("Économie") == "economy"
    assert index.slug_for("wirtschaft") == "economy"
    assert themes_of(settings)["themes"]["kultur"] == "culture"


# ---------------------------------------------------------------- the forms


def economy_item() -> Item:
    return Item(key="https://cities.example.org/budget", kind=Kind.NEWS,
                title="Cities publish a social budget", link="https://cities.example.org/budget",
                summary_html="<p>Budgets.</p>", published=datetime(2019, 3, 14, 9, tzinfo=UTC),
                themes=("economy", "culture"), source_id="news")


def chips(html: str) -> list[str]:
    """The theme chips of a rendered page or email, in order (the email's are inlined)."""
    return re.findall(r'<span class="tag"[^>]*>([^<]*)</span>', html)


def test_email_chips_are_in_the_reader_language() -> None:
    settings = settings_with()
    edition = make_edition([economy_item()])
    french = render_edition_email(edition, settings, LINKS, "fr")
    german = render_edition_email(edition, settings, LINKS, "de")
    english = render_edition_email(edition, settings, LINKS)
    assert chips(french.html) == ["Économie", "Culture"] and "Économie, Culture" in french.text
    assert chips(german.html) == ["Wirtschaft", "Kultur"]
    assert chips(english.html) == ["Economy", "Culture"]
    assert "Économie" not in english.html and "Economy" not in french.html


def test_web_version_and_pdf_chips_are_in_their_language() -> None:
    settings = settings_with("fr")
    edition = make_edition([economy_item()])
    assert chips(render_edition_web(edition, settings, LINKS)) == ["Économie", "Culture"]
    assert chips(render_edition_web(edition, settings, LINKS, "en")) == ["Economy", "Culture"]
    reader = PdfReader(io.BytesIO(render_edition_pdf(edition, settings, LINKS)))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Économie" in text and "Economy" not in text


def test_a_narrowed_variant_footer_names_the_member_themes_in_their_language() -> None:
    settings = settings_with()
    edition = make_edition([economy_item()])
    variant = variant_of(edition, VariantKey.of(["economy", "culture"], "fr")).edition
    email = render_edition_email(variant, settings, LINKS, "fr")
    line = "Vous recevez les contenus de vos thèmes : Économie, Culture."
    assert line in email.text and line in email.html  # the config's order, not the key's
    german = render_edition_email(variant, settings, LINKS, "de")
    assert "Sie erhalten die Beiträge Ihrer Themen: Wirtschaft, Kultur." in german.text
    full = render_edition_email(edition, settings, LINKS, "fr")
    assert "vos thèmes" not in full.text and "vos thèmes" not in full.html


def test_bulletin_theme_labels_are_in_the_bulletin_language() -> None:
    from digest.render.views import bulletin_context
    from tests.support import BULLETIN_LINKS, make_bulletin

    settings = settings_with()
    bulletin = replace(make_bulletin(settings), themes=("economy",), language="de")
    assert bulletin_context(bulletin, settings, BULLETIN_LINKS)["theme_labels"] == ["Wirtschaft"]


def test_feeds_name_themes_in_the_site_language(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, site={"base_url": BASE, "output": str(tmp_path),
                                              "language": "de"},
                              themes={"economy": ECONOMY, "culture": CULTURE})
    publish_feeds([economy_item()], [], settings, datetime(2019, 3, 18, 8, tzinfo=UTC),
                  markup=FeedTemplates(settings))
    feed = ElementTree.parse(settings.feeds_dir / "economy.atom").getroot()
    assert (feed.findtext(f"{ATOM}title") or "").endswith(": Wirtschaft")
    labels = {c.get("term"): c.get("label") for c in feed.iter(f"{ATOM}category")}
    assert labels["economy"] == "Wirtschaft" and labels["culture"] == "Kultur"
    index = (settings.feeds_dir / "index.html").read_text()
    assert "Wirtschaft" in index and "Economy" not in index


def test_the_subscribe_page_lists_themes_in_its_language() -> None:
    from digest.web.join_pages import join_form

    settings = settings_with()
    french = join_form(settings, "fr", "/subscribe")
    assert "Économie" in french and "Economy" not in french
    assert "Wirtschaft" in join_form(settings, "de", "/subscribe")


def narrowed_french_variant() -> tuple[Settings, Edition]:
    settings = settings_with()
    edition = make_edition([economy_item()])
    return settings, variant_of(edition, VariantKey.of(["economy"], "fr")).edition


def test_a_narrowed_variant_footer_is_strict_mjml(tmp_path: Path) -> None:
    from tests.test_render_mjml import validate

    settings, variant = narrowed_french_variant()
    mjml = render_edition_mjml(variant, settings, LINKS, "fr")
    assert "vos thèmes : Économie." in mjml
    result = validate(mjml, tmp_path, "variant-fr")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_narrowed_variant_email_passes_axe_at_375px(browser: Any, tmp_path: Path) -> None:
    from digest.jobs.forms import fill_placeholders, preview_values
    from tests.test_accessibility import axe_violations

    settings, variant = narrowed_french_variant()
    html = render_edition_email(variant, settings, LINKS, "fr").html
    page = tmp_path / "variant.html"
    page.write_text(fill_placeholders(html, preview_values(settings), escape=True),
                    encoding="utf-8")
    violations = axe_violations(browser, page, 375)
    assert not violations, [v["id"] for v in violations]
