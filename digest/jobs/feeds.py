"""Publishing the theme feeds from the newest stored items and the rendered bulletins.

A run and ``digest build`` both end with it; a failure here is reported and costs no
edition.
"""

from __future__ import annotations

from digest.jobs.bulletins import RenderedBulletins, feed_entries
from digest.jobs.context import Context
from digest.models import RunReport
from digest.publish import publish_feeds
from digest.render.feeds import FeedTemplates
from digest.store import feed_items


def publish(ctx: Context, report: RunReport, rendered: RenderedBulletins) -> None:
    """Write every theme's feeds (with this run's bulletins) and the feeds index page;
    each path goes in the report."""
    entries = feed_entries(ctx, rendered)
    now = ctx.clock.now()
    with ctx.db.transaction() as connection:
        stored = feed_items.newest_items_per_feed(connection, now, ctx.settings.feeds.entries,
                                             tuple(ctx.settings.themes))
    for path in publish_feeds(stored, entries, ctx.settings, now,
                              markup=FeedTemplates(ctx.settings)):
        report.output("feed", str(path))
