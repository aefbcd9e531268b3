"""Who may use the coordinators' console, and with which role where, from the config alone.

A coordinator is listed at the site level (``coordinators:``, a role for every digest and
the bulletins) or by a digest (``digests[].coordinators``, a role for that digest only; a
plain address there is an editor of that digest). The same address may be in both: each
place grants its role, and the strongest applies where both do. Addresses compare case-
insensitively. The console asks this on every request, with the config as the file says
now (``Roster``), so an address taken out of it loses its access at its next request.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from digest.config.loading import load_settings
from digest.config.schema import Settings
from digest.errors import ConfigError

Role = Literal["editor", "approver"]
_RANK: dict[Role, int] = {"editor": 1, "approver": 2}
log = logging.getLogger("digest.console")


@dataclass(frozen=True)
class Access:
    """One coordinator's roles: ``site`` (None: listed by digests only) and per digest."""

    email: str
    name: str
    site: Role | None
    digests: dict[str, Role] = field(default_factory=dict)

    @property
    def role(self) -> Role:
        """The strongest role held anywhere (what the console shows as theirs)."""
        roles: list[Role] = [r for r in (self.site, *self.digests.values()) if r is not None]
        return max(roles, key=lambda r: _RANK[r])

    def role_for(self, digest_id: str | None) -> Role | None:
        """The role that counts for ``digest_id`` (None: the site, e.g. bulletins)."""
        role = self.digests.get(digest_id) if digest_id is not None else None
        if self.site is None:
            return role
        return self.site if role is None else strongest(self.site, role)


def strongest(a: Role | None, b: Role) -> Role:
    return b if a is None or _RANK[b] > _RANK[a] else a


def coordinator_access(settings: Settings, email: str) -> Access | None:
    """The roles ``email`` holds in ``settings``; None when it is no coordinator."""
    wanted = email.strip().lower()
    name, site = "", None
    for listed in settings.coordinators:
        if listed.email.lower() == wanted:
            name, site = name or listed.name, strongest(site, listed.role)
    digests: dict[str, Role] = {}
    for digest in settings.digests:
        for listed in digest.coordinators:
            if listed.email.lower() == wanted:
                name = name or listed.name
                digests[digest.id] = strongest(digests.get(digest.id), listed.role)
    if site is None and not digests:
        return None
    return Access(email=wanted, name=name, site=site, digests=digests)


class Roster:
    """The settings as the config file says now, for the console's access checks: read
    again when the file changes (its size or time), so a coordinator taken out of
    ``schedules.yaml`` loses access at their next request, without a restart. While the
    file cannot be loaded (a typo), ``current`` is None: nobody is let in (fail closed),
    and the reason is logged once per change."""

    def __init__(self, settings: Settings) -> None:
        self._path = settings.config_path
        self._stamp = _stamp(self._path)
        self._current: Settings | None = settings
        self._lock = threading.Lock()

    def current(self) -> Settings | None:
        stamp = _stamp(self._path)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._current = load_settings(self._path)
                except ConfigError as exc:
                    self._current = None
                    log.warning("console: %s cannot be loaded, nobody can sign in until it "
                                "is fixed: %s", self._path, "; ".join(map(str, exc.problems)))
            return self._current


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size
