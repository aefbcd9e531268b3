"""Secrets and overrides from the environment, never from the file, and their checks.

A secret in ``schedules.yaml`` would end up in backups and version control, so the SMTP
password, the links' signing key and the web token are read from ``DIGEST_*`` variables;
``check_environment`` refuses, before anything runs, a config that needs one the
environment lacks or gives in a form that cannot work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from digest.config.database_urls import url_problem
from digest.config.paths import inside
from digest.config.schema import Settings
from digest.errors import ConfigError, ConfigProblem


@dataclass(frozen=True)
class Environment:
    """Secrets and overrides that come from the environment, never from the file."""

    database_url: str | None
    smtp_url: str | None
    smtp_password: str | None
    secret_key: str | None
    web_token: str | None
    bounces_password: str | None = None  # the bounce mailbox's IMAP password

    @classmethod
    def read(cls, environ: dict[str, str] | None = None) -> Environment:
        env = dict(os.environ if environ is None else environ)
        return cls(
            database_url=env.get("DIGEST_DATABASE_URL") or None,
            smtp_url=env.get("DIGEST_SMTP_URL") or None,
            smtp_password=env.get("DIGEST_SMTP_PASSWORD") or None,
            secret_key=env.get("DIGEST_SECRET_KEY") or None,
            web_token=env.get("DIGEST_WEB_TOKEN") or None,
            bounces_password=env.get("DIGEST_BOUNCES_PASSWORD") or None,
        )


MIN_SECRET_BYTES = 32  # the signing key of members' links (HMAC-SHA256)
MIN_SECRET_DISTINCT = 8  # 64 hex digits from secrets.token_hex(32) have about 16
_MAKE_KEY = "e.g. the output of: python -c 'import secrets; print(secrets.token_hex(32))'"


def secret_key_problem(value: str) -> str | None:
    """Why ``value`` cannot sign links (said after the key's name), or None when it can.

    Long is not enough: 64 zero bytes or one repeated letter is guessed at once, so a key
    also needs ``MIN_SECRET_DISTINCT`` different bytes. The environment gives text, and a
    value that is not valid UTF-8 reaches Python as lone surrogates: refused here, since
    such a key could not be encoded into the bytes that sign."""
    try:
        key = value.strip().encode("utf-8")
    except UnicodeEncodeError:
        return f"is not valid UTF-8 text; use letters and digits ({_MAKE_KEY})"
    if len(key) < MIN_SECRET_BYTES:
        return (f"is {len(key)} bytes long; a signing key needs at least {MIN_SECRET_BYTES} "
                f"({_MAKE_KEY})")
    if len(set(key)) < MIN_SECRET_DISTINCT:
        return (f"is too weak: it has only {len(set(key))} different characters, a signing "
                f"key needs at least {MIN_SECRET_DISTINCT} ({_MAKE_KEY})")
    return None


def database_url(settings: Settings, env: Environment) -> str:
    """The database URL: the environment's override, else the file's, with SQLite paths
    made relative to the output root (so ``sqlite:///var/digest.db`` lands in ``var/``)."""
    url = env.database_url or settings.site.database
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(settings.output_dir / url[len(prefix):])
    return url


def check_environment(settings: Settings, env: Environment) -> None:
    """Refuse, before anything runs, a config that needs a secret the environment lacks."""
    problems = []
    if settings.delivery.transport == "smtp" and not env.smtp_url:
        problems.append(ConfigProblem(str(settings.config_path), None, "delivery.transport",
                                      "smtp needs DIGEST_SMTP_URL in the environment "
                                      "(e.g. smtp://user@host:587?starttls=1)"))
    url = env.database_url
    if url and (problem := url_problem(url)) is not None:
        problems.append(ConfigProblem("DIGEST_DATABASE_URL", None, "DIGEST_DATABASE_URL",
                                      problem))
    if url and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        file = Path(os.path.realpath(database_url(settings, env).removeprefix("sqlite:///")))
        if any(inside(file, folder) for folder in (Path(os.path.realpath(settings.feeds_dir)),
                                                    Path(os.path.realpath(settings.out_dir)))):
            problems.append(ConfigProblem("DIGEST_DATABASE_URL", None, "DIGEST_DATABASE_URL",
                                          f"the SQLite file {file} would be in a served "
                                          "folder (the feeds or out/); keep it in var/"))
    key_problem = secret_key_problem(env.secret_key) if env.secret_key else None
    if key_problem:
        problems.append(ConfigProblem("DIGEST_SECRET_KEY", None, "DIGEST_SECRET_KEY",
                                      key_problem))
    if problems:
        raise ConfigError(problems)
