"""A bulletin's ``themes`` send it to the members who follow one of them and to those who
follow every theme (chose none); members following only other themes get nothing. A
bulletin naming no theme goes to its whole audience (issue 12, section 5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.config import load_settings
from digest.jobs.context import Context
from digest.jobs.run import run_once
from digest.models import Subscriber
from digest.store import editions, subscribers
from digest.store.schema import deliveries
from digest.store.schema import subscribers as members_table
from tests.conftest import SAMPLE_BULLETIN_SLUG, clean_sample_bulletin

FILE = Path("sample") / "bulletins" / f"{SAMPLE_BULLETIN_SLUG}.md"


@pytest.mark.parametrize("member_themes", [(), ("culture",), ("economy", "culture")])
@pytest.mark.parametrize("bulletin_themes", [(), ("culture",), ("culture", "economy")])
def test_follows_is_for_all_without_themes_else_for_followers(
        member_themes: tuple[str, ...], bulletin_themes: tuple[str, ...]) -> None:
    member = Subscriber(email="a@example.org", name="", language="en", digests=("weekly",),
                        themes=member_themes)
    shared = set(member_themes) & set(bulletin_themes)
    assert member.follows(bulletin_themes) == (
        not bulletin_themes or not member_themes or bool(shared))


def _sent_to(ctx: Context) -> tuple[set[str], list[Subscriber]]:
    with ctx.db.transaction() as connection:
        row = editions.latest(connection, f"bulletin:{SAMPLE_BULLETIN_SLUG}")
        assert row is not None
        emails = set(connection.execute(
            select(members_table.c.email).join(
                deliveries, deliveries.c.subscriber_id == members_table.c.id)
            .where(deliveries.c.edition_id == row.id)).scalars())
        audience = subscribers.active_for(connection, "weekly")
    return emails, audience


@pytest.mark.parametrize("themes", ["[cooperation]", "[Culture, environment]", "[]"])
def test_a_bulletins_themes_narrow_its_audience(sample_ctx: Context, themes: str) -> None:
    project = sample_ctx.settings.config_path.parent
    clean_sample_bulletin(project)
    bulletin = project / FILE
    assert "themes: []" in bulletin.read_text()
    bulletin.write_text(bulletin.read_text().replace("themes: []", f"themes: {themes}"))
    ctx = replace(sample_ctx, settings=load_settings(sample_ctx.settings.config_path))
    run_once(ctx)
    sent, audience = _sent_to(ctx)
    wanted = {name.strip().lower() for name in themes.strip("[]").split(",") if name.strip()}
    assert any(member.themes for member in audience)  # the class: some chose themes
    expected = {m.email for m in audience
                if not wanted or not m.themes or wanted & set(m.themes)}
    assert sent == expected
    if wanted:  # members following only other themes get nothing
        others = {m.email for m in audience if m.themes and not wanted & set(m.themes)}
        assert others and not others & sent
        assert {m.email for m in audience if not m.themes} <= sent
    ctx.close()
