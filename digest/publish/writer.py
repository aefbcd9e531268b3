"""Write the site's feeds: Atom and RSS per theme, one of everything, one of bulletins, an
OPML list of them all and the HTML index with autodiscovery links.

Everything written here is a pure function of its inputs (items, bulletins, settings and the
``now`` used only when a feed is empty), so publishing an unchanged store gives byte-identical
files: feed readers and caches see no change, and an unchanged file is not even rewritten.
Every file is replaced atomically (``files.write_all_if_changed``), so a reader never sees half
a feed; every file is rendered before the first is written, and their folder synced once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

from digest.config import RESERVED_THEME_SLUGS, Settings
from digest.errors import PublishError
from digest.files import write_all_if_changed
from digest.models import Item
from digest.publish.catalogue import feed_catalogue
from digest.publish.entries import BulletinEntry, FeedEntry, bulletin_entry, item_entry, newest
from digest.publish.feeds import render_feed
from digest.publish.markup import FeedMarkup
from digest.publish.opml import render_opml
from digest.theme_titles import theme_titles


def publish_feeds(
    items: Sequence[Item],
    bulletins: Sequence[BulletinEntry],
    settings: Settings,
    now: datetime,
    *,
    markup: FeedMarkup,
) -> list[Path]:
    """Write every feed, ``index.opml`` and ``index.html`` into ``settings.feeds_dir``.

    ``markup`` makes the HTML: the page that lists the feeds, an event's when and where, a
    bulletin's summary (the renderers' templates, given by the caller, since stages do not
    import each other).

    ``now`` is only the ``updated`` time of a feed with no entries. Returns the paths, in
    writing order; raises ``PublishError`` for anything that stops a file being written.
    """
    if now.tzinfo is None:
        raise PublishError(f"publish_feeds needs an aware time, got {now.isoformat()}")
    # refused by the config already; kept as a guard, since a clash overwrites a feed
    clashes = sorted(set(settings.themes) & RESERVED_THEME_SLUGS)
    if clashes:
        raise PublishError(
            f"theme slug {clashes[0]!r} would overwrite the feed of the same name; "
            f"rename the theme (reserved: {', '.join(sorted(RESERVED_THEME_SLUGS))})"
        )
    try:
        return _publish(items, bulletins, settings, now.astimezone(UTC), markup)
    except PublishError:
        raise
    except OSError as exc:  # the file named (``digest.files``), without "[Errno N]"
        raise PublishError(f"could not publish feeds to {settings.feeds_dir}: "
                           f"{exc.filename or settings.feeds_dir}: {exc.strerror or exc}"
                           ) from exc
    except (ValueError, TypeError, ElementTree.ParseError) as exc:
        raise PublishError(f"could not publish feeds to {settings.feeds_dir}: {exc}") from exc


def _publish(items: Sequence[Item], bulletins: Sequence[BulletinEntry], settings: Settings,
             now: datetime, markup: FeedMarkup) -> list[Path]:
    contents = _contents(items, bulletins, settings, markup)
    catalogue = feed_catalogue(settings)
    directory = settings.feeds_dir
    files = [(directory / feed.name,
              render_feed(feed, contents[feed.name.rsplit(".", 1)[0]], settings, now))
             for feed in catalogue]
    all_entries = contents["all"] + contents["bulletins"]
    modified = max((entry.updated for entry in all_entries), default=now)
    files += [(directory / "index.opml", render_opml(catalogue, settings, modified)),
              (directory / "index.html", markup.index_page(catalogue).encode("utf-8"))]
    write_all_if_changed(files)  # every file rendered first: a failure writes none
    return [path for path, _ in files]


def _contents(items: Sequence[Item], bulletins: Sequence[BulletinEntry], settings: Settings,
              markup: FeedMarkup) -> dict[str, list[FeedEntry]]:
    """The entries of each feed, by its stem (``all``, a theme's slug, ``bulletins``),
    newest first and at most ``feeds.entries`` of them."""
    limit = settings.feeds.entries
    labels = theme_titles(settings, settings.site.language)  # feeds speak the site's language
    # The same item given twice (it should not be) still appears once: the latest wins.
    unique: dict[str, tuple[FeedEntry, Item]] = {}
    for item in items:
        entry = item_entry(item, labels, markup)
        known = unique.get(entry.id)
        if known is None or entry.updated >= known[0].updated:
            unique[entry.id] = (entry, item)
    pairs = list(unique.values())
    bulletin_entries = {e.id: e for e in (bulletin_entry(b, labels, markup) for b in bulletins)}
    contents: dict[str, list[FeedEntry]] = {"all": newest(e for e, _ in pairs)[:limit]}
    for slug in settings.themes:
        contents[slug] = newest(e for e, item in pairs if slug in item.themes)[:limit]
    contents["bulletins"] = newest(bulletin_entries.values())[:limit]
    return contents
