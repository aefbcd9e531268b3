"""Serving the published folders read-only, with a guard that does not trust the config.

The config already keeps ``feeds.path`` out of ``var/`` and ``out/`` (``digest.config``);
this guard refuses, whatever the folders are, any path that resolves (symbolic links
followed) into a private place: ``var/`` (the signing key, the database), the outbox, the
database file, the config file and the members' import file, and any file or folder whose
name starts with a dot (``write_atomic``'s temporary files). It answers 404, as for a file
that does not exist. A ``Range`` that cannot be served (beyond the file: 416 with its
``Content-Range: bytes */SIZE``; malformed: 400) is an ``HTTPException``, so the site's
error page answers it, not Starlette's line of plain text. Directory URLs without their
final slash are redirected to the same URL under ``site.base_url``, never to the Host
header the request claimed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import (
    FileResponse,
    MalformedRangeHeader,
    RangeNotSatisfiable,
    RedirectResponse,
    Response,
)
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from digest.config import Settings

MEDIA_TYPES = {".opml": "text/x-opml; charset=utf-8"}  # the feeds' list (feeds/index.opml)


def private_paths(settings: Settings, database: str) -> tuple[Path, ...]:
    """Every place of ``settings``'s site that must never be served, resolved."""
    places = [settings.var_dir, settings.out_dir / "outbox", settings.config_path]
    if settings.subscribers.import_:
        places.append(settings.resolve(settings.subscribers.import_))
    if database.startswith("sqlite:///"):
        places.append(Path(database.removeprefix("sqlite:///")))
    return tuple(Path(os.path.realpath(place)) for place in places)


class PublishedFiles(StaticFiles):
    """``StaticFiles`` that never serves a private path or a dotfile, and redirects a
    folder URL to ``base_url`` + the path + ``/``."""

    def __init__(self, directory: Path, private: Iterable[Path], base_url: str) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.private = tuple(private)
        self.base_url = base_url.rstrip("/")

    async def check_config(self) -> None:
        """Nothing to check: a folder not written yet (no feed published, no edition made)
        answers 404 like any missing file, not 500 (Starlette's check raises, and caches
        nothing, so it would raise at every request)."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        full_path, found = super().lookup_path(path)
        if found is None:
            return full_path, found
        if any(part.startswith(".") for part in Path(path).parts):
            return "", None
        real = Path(os.path.realpath(full_path))
        for place in self.private:
            if real == place or place in real.parents or _journal_of(real, place):
                return "", None
        return full_path, found

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        """Starlette's answer, typed by ``MEDIA_TYPES`` for what ``mimetypes`` does not know
        (an ``.opml`` would go as ``application/octet-stream``, which readers refuse)."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        if isinstance(response, FileResponse):
            _refuse_bad_range(response, scope, stat_result.st_size)
        media_type = MEDIA_TYPES.get(Path(full_path).suffix.lower())
        if media_type and response.status_code == 200:
            response.headers["content-type"] = media_type
        return response

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if isinstance(response, RedirectResponse):
            return RedirectResponse(site_url(self.base_url, scope, "/"), status_code=307)
        return response


def site_url(base_url: str, scope: Scope, suffix: str = "") -> str:
    """The request's path (plus ``suffix``) under ``base_url``: the path part of
    ``base_url`` is added only when the request does not already carry it (a proxy that
    passes the prefix through), and the query string is kept."""
    path = str(scope["path"])
    prefix = urlsplit(base_url).path.rstrip("/")
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix):]
    query = scope.get("query_string", b"").decode("latin-1")
    return base_url.rstrip("/") + quote(path + suffix) + (f"?{query}" if query else "")


def _refuse_bad_range(response: FileResponse, scope: Scope, size: int) -> None:
    """Raise, as an ``HTTPException``, the refusal ``FileResponse`` would send as plain text
    for the request's ``Range`` (under the same conditions: a 200, GET or HEAD, no
    ``If-Range`` that makes it send the whole file)."""
    headers = Headers(scope=scope)
    wanted, if_range = headers.get("range"), headers.get("if-range")
    if (wanted is None or response.status_code != 200
            or str(scope.get("method", "GET")).upper() not in ("GET", "HEAD")
            or (if_range is not None and not response._should_use_range(if_range))):
        return
    try:
        FileResponse._parse_range_header(wanted, size)
    except MalformedRangeHeader:
        raise HTTPException(400) from None
    except RangeNotSatisfiable:
        raise HTTPException(416, headers={"Content-Range": f"bytes */{size}"}) from None


def _journal_of(real: Path, database: Path) -> bool:
    """SQLite's ``-wal``, ``-shm`` and ``-journal`` files beside a database."""
    return real.parent == database.parent and real.name.startswith(database.name + "-")
