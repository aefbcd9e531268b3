"""The settings as seen from this machine, for ``--local`` (``digest serve --local``,
``digest coordinators link EMAIL --local``): the console tried on one's own computer.

``site.base_url`` (the sample's ``https://forum.example.org/digest``) names where the
public service answers; every console link, form and redirect is built from it, so a
console served on this machine under that name cannot be used. Here the web app listens on
the loopback address only (``127.0.0.1``, whatever ``web.host`` says: a console over
plain http must not be reachable from the network) at ``web.port``, and ``base_url``
becomes ``http://127.0.0.1:<port><the base_url's path>``, the same routes. Over http the
session cookie is not ``Secure``, so every browser keeps it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from digest.config.schema import Settings

LOOPBACK = "127.0.0.1"


def local_base_url(settings: Settings) -> str:
    """``http://127.0.0.1:<web.port>`` plus the path of ``site.base_url``."""
    path = urlsplit(settings.site.base_url).path.rstrip("/")
    return f"http://{LOOPBACK}:{settings.web.port}{path}"


def served_locally(settings: Settings) -> Settings:
    """``settings`` with the loopback address and the local ``base_url`` (see above)."""
    site = settings.site.model_copy(update={"base_url": local_base_url(settings)})
    web = settings.web.model_copy(update={"host": LOOPBACK})
    return settings.model_copy(update={"site": site, "web": web})
