"""Installs are reproducible: the lock files pin, with hashes, every library pyproject.toml
names, at a version its range admits, and nothing in the project reads outside the clone."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lock: str) -> dict[str, Version]:
    text = (ROOT / lock).read_text()
    return {_canonical(name): Version(version) for name, version in _PIN.findall(text)}


def _project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def _requirements(*groups: str) -> list[Requirement]:
    project = _project()["project"]
    assert isinstance(project, dict)
    names = list(project["dependencies"])
    for group in groups:
        names += project["optional-dependencies"][group]
    build = _project()["build-system"]
    assert isinstance(build, dict)
    return [Requirement(n) for n in [*names, *build["requires"]]]


@pytest.mark.parametrize(("lock", "groups"), [("requirements.lock", ()),
                                              ("requirements-test.lock", ("test",))])
def test_every_declared_library_is_pinned_within_its_range(lock: str,
                                                          groups: tuple[str, ...]) -> None:
    pins = _pins(lock)
    for requirement in _requirements(*groups):
        name = _canonical(requirement.name)
        assert name in pins, f"{requirement.name} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, outside {requirement}: run `make lock`")


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-test.lock"])
def test_every_pin_carries_a_hash(lock: str) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text())
    pinned = [b for b in blocks if _PIN.match(b)]
    assert pinned, f"{lock} pins nothing"
    unhashed = [b.split()[0] for b in pinned if "--hash=sha256:" not in b]
    assert not unhashed, f"{lock} has pins without a hash: {unhashed}"


def test_the_runtime_and_test_locks_agree() -> None:
    runtime, test = _pins("requirements.lock"), _pins("requirements-test.lock")
    differ = {n: (v, test[n]) for n, v in runtime.items() if n in test and test[n] != v}
    assert not differ, f"the locks disagree: {differ}: run `make lock`"
    missing = set(runtime) - set(test)
    assert not missing, f"requirements-test.lock lacks {missing}: run `make lock`"


def test_the_installs_come_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r requirements.lock" in makefile
    assert "--require-hashes --no-deps -r requirements-test.lock" in makefile
    assert "--no-build-isolation" in makefile, "a build backend fetched at install time"


def test_nothing_reads_outside_the_clone() -> None:
    """A clone placed anywhere passes: no code or test names the folder beside it."""
    outside = re.compile(r"""parent\s*/\s*["']shared["']|\.\./shared""")
    offenders = [str(path.relative_to(ROOT))
                 for folder in ("digest", "tests", "benchmarks")
                 for path in (ROOT / folder).rglob("*.py")
                 if path.name != "test_lock.py" and outside.search(path.read_text())]
    assert not offenders, f"these read outside the repository: {offenders}"
