"""Which feeds the site publishes, with their titles, addresses and order.

One list, read by the writer (which files to write), the OPML and the feeds index page, so
a feed cannot be written without being listed, or listed without being written.
"""

from __future__ import annotations

from digest.config import Settings
from digest.links import feed_url
from digest.models import ATOM_TYPE, RSS_TYPE, FeedInfo
from digest.theme_titles import theme_titles


def feed_catalogue(settings: Settings) -> list[FeedInfo]:
    """Every feed ``publish_feeds`` writes, in the order they are listed in OPML and HTML:
    everything, one per theme and the bulletins, each in Atom and RSS."""
    base = settings.site.base_url
    site = settings.site.title
    feeds: list[FeedInfo] = []

    def add(stem: str, label: str, description: str) -> None:
        for media_type, extension in ((ATOM_TYPE, "atom"), (RSS_TYPE, "rss")):
            name = f"{stem}.{extension}"
            feeds.append(FeedInfo(name, f"{site}: {label}", label, description, media_type,
                                  feed_url(base, name), base + "/"))

    add("all", "Everything", f"Everything new at {site}")
    for slug, title in theme_titles(settings, settings.site.language).items():
        add(slug, title, f"What is new at {site} about {title}")
    add("bulletins", "Bulletins", f"The working-group bulletins of {site}")
    return feeds
