"""``schedules.yaml`` → typed, validated ``Settings``, or every problem in it at once.

The file is refused before anything runs when anything in it is wrong, and every problem is
reported with the file, the line and the dotted key, so an operator fixes the file in one
pass: type errors, and at the same time the cross-checks on whichever sections are valid.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from digest import yaml_loader
from digest.config.checks import semantic_problems, unwanted_characters
from digest.config.locator import Locator, validation_problems
from digest.config.salvage import Salvage
from digest.config.schema import DEFAULT_CONFIG, Settings
from digest.errors import ConfigError, ConfigProblem
from digest.reading import TooLargeError, read_bounded

MAX_CONFIG_BYTES = 1024 * 1024  # a large config (hundreds of sources) is well under 100 KB


def load_settings(path: str | Path) -> Settings:
    """Read, validate and resolve a config file, or raise ``ConfigError`` with every problem."""
    file = Path(path)
    data, locator = _read(file, str(path))
    problems = [locator.problem(key, "duplicate key") for key, _ in locator.duplicates]
    problems += locator.problems(unwanted_characters(data))
    if "config_path" in data:
        problems.append(locator.problem(("config_path",), "unknown key"))
        data.pop("config_path")
    base = file.resolve().parent
    try:
        settings = Settings.model_validate({**data, "config_path": file.resolve()})
    except ValidationError as exc:
        problems += locator.problems(validation_problems(exc))
        problems += locator.problems(semantic_problems(Salvage.of(Settings, data), base))
        raise ConfigError(problems) from None
    problems += locator.problems(semantic_problems(Salvage.whole(settings), base))
    if problems:
        raise ConfigError(problems)
    return settings


def _read(file: Path, shown: str) -> tuple[dict[str, object], Locator]:
    """The file's mapping of sections and where each key is, or ``ConfigError``."""
    try:
        raw = read_bounded(file, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(shown, None, "(file)", "no such file")]) from None
    except TooLargeError as exc:
        raise ConfigError([ConfigProblem(shown, None, "(file)", str(exc))]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(shown, None, "(file)",
                                         f"unreadable: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(shown, raw.count(b"\n", 0, exc.start) + 1, "(file)",
                                         f"not UTF-8 (byte {raw[exc.start]:#04x}): save the "
                                         "file as UTF-8")]) from None
    try:
        node, data = yaml_loader.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml_loader.YamlLimitError):
            raise ConfigError([ConfigProblem(shown, line, "(file)", f"refused: {reason}")])\
                from None
        raise ConfigError([ConfigProblem(shown, line, "(syntax)", f"not valid YAML: {reason}")])\
            from None
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(shown, 1, "(file)", "expected a mapping of sections")])
    return data, Locator.of(shown, node)


def config_path_from(option: str | None, environ: dict[str, str] | None = None) -> Path:
    """Which file to load: ``--config``, else ``DIGEST_CONFIG``, else ``./schedules.yaml``."""
    env = os.environ if environ is None else environ
    return Path(option or env.get("DIGEST_CONFIG") or DEFAULT_CONFIG)
