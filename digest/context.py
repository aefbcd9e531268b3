"""What every entry point opens once: settings, environment, clock, database and secret."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from digest.clock import Clock
from digest.config import Environment, Settings, database_url
from digest.store import Database


@dataclass
class Context:
    """The run's shared, explicit state (no global ``context`` dict as in Pelican)."""

    settings: Settings
    env: Environment
    clock: Clock

    @cached_property
    def db(self) -> Database:
        return Database(database_url(self.settings, self.env))

    @cached_property
    def secret(self) -> bytes:
        from digest.tokens import load_or_create_secret

        return load_or_create_secret(self.settings.var_dir, self.env.secret_key)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()
