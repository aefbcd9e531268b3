"""Bulletins: Markdown with front matter → ``Bulletin``, and every problem located."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from digest.bulletins import load_bulletin, load_bulletins
from digest.errors import InputError
from tests.support import (
    BULLETIN_FILE,
    SAMPLE_BULLETIN,
    SEED_004_SECTION_TITLES,
    make_settings,
)

FRONT = """---
title: Updates from WG Smart Social Inclusion
forum: EUROCITIES Social Affairs Forum
group: WG Smart Social Inclusion
date: 2019-03-25
---
"""


def write(folder: Path, text: str, name: str = "bulletin.md") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_bulletin(path, make_settings())
    return str(caught.value).splitlines()


def test_the_seed_bulletin_is_read_whole() -> None:
    bulletin = load_bulletin(BULLETIN_FILE, make_settings())
    assert bulletin.slug == "2019-03-wg-smart-social-inclusion"
    assert bulletin.title == "Updates from WG Smart Social Inclusion"
    assert bulletin.forum == "EUROCITIES Social Affairs Forum"
    assert bulletin.group == "WG Smart Social Inclusion"
    assert bulletin.place == "Glasgow"
    assert (bulletin.start_date, bulletin.end_date) == (date(2019, 3, 25), date(2019, 3, 27))
    assert bulletin.language == "en"
    assert bulletin.themes == ("economy", "cooperation")
    assert bulletin.source_path == str(BULLETIN_FILE)
    assert bulletin.markdown == BULLETIN_FILE.read_text(encoding="utf-8")
    assert bulletin.intro_html == ""
    assert bulletin.send_at is None and bulletin.upcoming == ()
    assert 'href="http://ec.europa.eu/social/easi"' in bulletin.footer_html
    assert "&quot;EaSI&quot;" in bulletin.footer_html


def test_sections_are_split_on_level_two_headings_with_their_numbers() -> None:
    bulletin = load_bulletin(BULLETIN_FILE, make_settings())
    assert [s.title for s in bulletin.sections] == SEED_004_SECTION_TITLES
    assert [s.number for s in bulletin.sections] == [1, 2, 3, 4, None, None]
    report, priorities, upcoming = (bulletin.sections[1], bulletin.sections[4],
                                    bulletin.sections[5])
    assert report.body_html.count("<li>") == 4 and "<ul>" in report.body_html
    assert priorities.body_html.startswith("<ol>") and priorities.body_html.count("<li>") == 7
    assert upcoming.body_html.count("<li>") == 3
    assert "<strong>Autumn WG meeting in Warsaw</strong>" in upcoming.body_html
    assert "<h2" not in "".join(s.body_html for s in bulletin.sections)


def test_placeholder_links_are_kept_for_the_lint() -> None:
    bulletin = load_bulletin(BULLETIN_FILE, make_settings())
    html = "".join(s.body_html for s in bulletin.sections)
    assert html.count('<a href="#">') == 7
    assert '<a href="#">European Social Economy Regions Pilot</a>' in html


@pytest.mark.skipif(not SAMPLE_BULLETIN.exists(), reason="the sample bulletin is not written yet")
def test_the_shipped_sample_bulletin_loads() -> None:
    bulletin = load_bulletin(SAMPLE_BULLETIN, make_settings())
    assert [s.title for s in bulletin.sections] == SEED_004_SECTION_TITLES


def test_intro_optional_keys_and_raw_html(tmp_path: Path) -> None:
    path = write(tmp_path, FRONT.replace(
        "date: 2019-03-25\n",
        "date: 2019-03-25\nlanguage: fr\nthemes: [Knowledge Society, economy]\n"
        "send_at: 2019-03-20T09:00:00+01:00\nslug: ssi-march\n"
        "footer: Funded by [EaSI](https://ec.europa.eu/social/easi)\n")
        + "Hello <script>alert(1)</script> members.\n\n## Next steps\n\nSee *you*.\n")
    bulletin = load_bulletin(path, make_settings())
    assert bulletin.language == "fr"
    assert bulletin.themes == ("knowledge-society", "economy")
    assert bulletin.send_at == datetime(2019, 3, 20, 8, 0, tzinfo=UTC)
    assert bulletin.send_at.utcoffset() == timedelta(hours=1)
    assert bulletin.slug == "ssi-march"
    assert bulletin.place is None and bulletin.end_date is None
    assert "&lt;script&gt;" in bulletin.intro_html and "<script>" not in bulletin.intro_html
    assert bulletin.footer_html == 'Funded by <a href="https://ec.europa.eu/social/easi">EaSI</a>'
    assert bulletin.sections[0].title == "Next steps" and bulletin.sections[0].number is None
    assert "<em>you</em>" in bulletin.sections[0].body_html


def test_language_defaults_to_the_site(tmp_path: Path) -> None:
    bulletin = load_bulletin(write(tmp_path, FRONT + "## 1. One\n\nText.\n"),
                             make_settings(language="de"))
    assert bulletin.language == "de"
    assert bulletin.sections[0].number == 1 and bulletin.sections[0].title == "One"


def test_a_missing_key_is_named_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, FRONT.replace("forum: EUROCITIES Social Affairs Forum\n", ""))
    assert problems_of(path) == [f"{path}:1: forum: required key is missing or empty"]


def test_bad_yaml_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, FRONT.replace("group: WG Smart Social Inclusion",
                                         "group: [WG Smart Social Inclusion"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:")
    assert "(front matter): not valid YAML" in problem
    assert int(problem.split(":")[1]) in (4, 5)


def test_a_wrong_date_is_located_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, FRONT.replace("date: 2019-03-25", "date: 25-03-2019"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:5: date: expected a date such as 2019-03-25")


def test_an_unknown_theme_is_located_and_the_known_ones_listed(tmp_path: Path) -> None:
    path = write(tmp_path, FRONT.replace("date: 2019-03-25\n",
                                         "date: 2019-03-25\nthemes: [economy, housing]\n"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:6: themes[1]: unknown theme 'housing'")
    assert "cooperation" in problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = FRONT.replace("date: 2019-03-25\n",
                         "date: 2019-03-25\nend_date: 2019-03-20\nsend_at: 2019-03-20 09:00\n"
                         "colour: blue\nslug: Not A Slug\nlanguage: <script>\n")
    path = write(tmp_path, text)
    problems = problems_of(path)
    keys = [p.split(": ")[1] for p in problems]
    assert sorted(keys) == ["colour", "end_date", "language", "send_at", "slug"]
    assert f"{path}:6: end_date: ends (2019-03-20) before it starts (2019-03-25)" in problems
    assert any(p.startswith(f"{path}:7: send_at:") and "offset" in p for p in problems)
    assert any(p.startswith(f"{path}:8: colour: unknown key") for p in problems)


def test_a_file_without_front_matter_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "## 1. Only a body\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:1: (front matter):")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such bulletin file"):
        load_bulletin(tmp_path / "nope.md", make_settings())


def test_a_folder_loads_sorted_by_file_name(tmp_path: Path) -> None:
    write(tmp_path, FRONT.replace("Updates", "Second"), "2019-04-b.md")
    write(tmp_path, FRONT.replace("Updates", "First"), "2019-03-a.md")
    write(tmp_path, "not a bulletin", "notes.txt")
    loaded = load_bulletins(tmp_path, make_settings())
    assert [b.slug for b in loaded.bulletins] == ["2019-03-a", "2019-04-b"]
    assert loaded.bulletins[0].title.startswith("First")
    assert loaded.problems == ()


def test_a_folder_reports_each_broken_file_and_keeps_the_good_ones(tmp_path: Path) -> None:
    write(tmp_path, FRONT.replace("date: 2019-03-25", "date: soon"), "a.md")
    write(tmp_path, FRONT.replace("forum: EUROCITIES Social Affairs Forum\n", ""), "b.md")
    write(tmp_path, FRONT, "c.md")
    loaded = load_bulletins(tmp_path, make_settings())
    assert [b.slug for b in loaded.bulletins] == ["c"]
    assert "a.md:5: date:" in loaded.problems[0] and "b.md:1: forum:" in loaded.problems[1]

    for path in tmp_path.iterdir():
        path.unlink()
    write(tmp_path, FRONT.replace("date:", "slug: same\ndate:"), "a.md")
    write(tmp_path, FRONT.replace("date:", "slug: same\ndate:"), "b.md")
    loaded = load_bulletins(tmp_path, make_settings())
    assert [b.source_path.endswith("a.md") for b in loaded.bulletins] == [True]
    assert "'same' is already used by" in loaded.problems[0]
