"""The MJML of the digest and the bulletin passes the official validator at strict level.

mjml-python compiles leniently; the npm ``mjml`` package is the reference that mail
developers use, so a template that drifts from the MJML schema (a component in the wrong
parent, an unknown attribute) fails here before it renders oddly in some client.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from digest.render.email import render_bulletin_email, render_edition_mjml
from tests.external_tools import mjml_command
from tests.support import (
    BULLETIN_LINKS,
    EVENTS,
    LINKS,
    make_bulletin,
    make_edition,
    make_settings,
)


def validate(mjml: str, folder: Path, name: str) -> subprocess.CompletedProcess[str]:
    path = folder / f"{name}.mjml"
    path.write_text(mjml, encoding="utf-8")
    return subprocess.run([*mjml_command(), "--validate", str(path),
                           "--config.validationLevel", "strict"],
                          capture_output=True, text=True, timeout=120, check=False)


def sample_mjml(which: str) -> str:
    settings = make_settings()
    if which == "digest":
        return render_edition_mjml(make_edition(omitted=3), settings, LINKS)
    if which == "digest-fr":
        return render_edition_mjml(make_edition(), settings, LINKS, language="fr")
    bulletin = make_bulletin(settings, upcoming=(EVENTS[1],))
    return render_bulletin_email(bulletin, settings, BULLETIN_LINKS).mjml


@pytest.mark.parametrize("which", ["digest", "digest-fr", "bulletin"])
def test_mjml_is_valid_at_strict_level(which: str, tmp_path: Path) -> None:
    result = validate(sample_mjml(which), tmp_path, which)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "illegal" not in result.stdout + result.stderr


def test_the_validator_does_refuse_broken_mjml(tmp_path: Path) -> None:
    broken = ('<mjml><mj-body><mj-section><mj-text foo="bar">x</mj-text></mj-section>'
              "</mj-body></mjml>")
    result = validate(broken, tmp_path, "broken")
    assert result.returncode != 0
    assert "Attribute foo is illegal" in result.stdout + result.stderr
