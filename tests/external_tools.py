"""Where the test suite finds the outside tools that judge our output as the world would:
the official MJML validator (npm ``mjml`` in ``tools/mjml``), axe-core (npm, in
``tools/axe``), headless Chromium and SpamAssassin. A missing tool skips its tests loudly
locally and fails them in CI (``need_service``); .ci/run installs them all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import ROOT, need_service

MJML_BIN = ROOT / "tools" / "mjml" / "node_modules" / ".bin" / "mjml"
AXE_SCRIPT = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def mjml_command() -> list[str]:
    """The official MJML CLI under node, or a skip (fail in CI) naming the install step."""
    node = shutil.which("node")
    if node is None:
        need_service("node (Debian `nodejs`) for the official MJML validator")
    if not MJML_BIN.exists():
        need_service(f"{MJML_BIN}: run `npm ci --prefix tools/mjml`")
    return [str(MJML_BIN)]


def axe_script() -> Path:
    """axe-core's browser bundle, injected into pages opened in Chromium."""
    if not AXE_SCRIPT.exists():
        need_service(f"{AXE_SCRIPT}: run `npm ci --prefix tools/axe`")
    return AXE_SCRIPT


def chromium_path() -> str:
    """Debian's Chromium, driven by Playwright (never a downloaded browser build)."""
    if not CHROMIUM.exists():
        need_service(f"{CHROMIUM} (Debian `chromium`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        need_service("the Python package playwright (pip install -e '.[test]')")
    return str(CHROMIUM)


def spamassassin_command() -> list[str]:
    """SpamAssassin with local rules only (no network tests), or a skip/fail."""
    found = shutil.which("spamassassin")
    if found is None:
        need_service("spamassassin (Debian `spamassassin`)")
    return [str(found), "-t", "-L"]
