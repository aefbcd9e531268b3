"""The feed catalogue → ``index.opml``, the list a feed reader imports in one go: each
feed once, in Atom.

Its ``dateModified`` is the newest entry's time (RFC 822, from ``digest.dates``), so an
unchanged store gives a byte-identical file.
"""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree

from digest.config import Settings
from digest.dates import format_rfc822
from digest.models import FeedInfo
from digest.publish.feeds import xml_text


def render_opml(catalogue: list[FeedInfo], settings: Settings, modified: datetime) -> bytes:
    """OPML 2.0 with one outline per feed (its Atom form), in the catalogue's order.

    A reader imports every outline as a subscription: listing the RSS twin too would
    subscribe each member twice to the same entries (the index page offers both forms)."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = xml_text(f"{settings.site.title}: feeds")
    ElementTree.SubElement(head, "dateModified").text = format_rfc822(modified)
    ElementTree.SubElement(head, "ownerName").text = xml_text(settings.site.sender.name)
    ElementTree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ElementTree.SubElement(root, "body")
    for feed in catalogue:
        if feed.format != "atom":
            continue
        ElementTree.SubElement(body, "outline", {
            "type": "rss",
            "text": xml_text(feed.title),
            "title": xml_text(feed.title),
            "xmlUrl": feed.url,
            "htmlUrl": feed.html_url,
        })
    ElementTree.indent(root)
    data: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
