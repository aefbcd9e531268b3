"""Delivery benchmarks, measured in one run on this machine and reported as ratios.

1. **Preparing messages**: 100 000 members over 16 theme variants of the sample edition.
   Ours renders each variant once (Jinja → MJML → premailer) and per member only signs two
   links and joins prepared bytes (``MessageFactory``). The naive pipeline renders and
   builds an ``EmailMessage`` per member; it is measured on a sample (300 members) and
   reported per message.

Sending (the outbox and the connection pool against Postfix's ``smtp-source``, with 1, 2
and 4 workers) is ``benchmarks/sending.py``'s.

Run: ``.venv/bin/python benchmarks/delivery.py`` (``--members`` and ``--naive`` change the
sizes). Results go to stdout; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest import compose  # noqa: E402
from digest.clock import parse_now  # noqa: E402
from digest.config import Environment, load_settings  # noqa: E402
from digest.identifiers import VariantKey  # noqa: E402
from digest.jobs.build import upcoming_edition  # noqa: E402
from digest.jobs.collect import collect  # noqa: E402
from digest.jobs.context import Context  # noqa: E402
from digest.jobs.outbox import recipient_for  # noqa: E402
from digest.links import edition_links  # noqa: E402
from digest.mail.message import MessageFactory, make_list_id, make_message_id  # noqa: E402
from digest.models import PLACEHOLDERS, Edition, RunReport, Subscriber  # noqa: E402
from digest.render.email import render_edition_email  # noqa: E402

NOW = "2019-03-18T08:00:00+01:00"
KEY = "bench-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"


def sample_context(folder: Path, transport: str = "file", concurrency: int = 4,
                   database: str | None = None) -> Context:
    """The repository's config and sample content, copied into ``folder``."""
    shutil.copy(ROOT / "schedules.yaml", folder / "schedules.yaml")
    shutil.copytree(ROOT / "sample", folder / "sample")
    config = folder / "schedules.yaml"
    config.write_text(config.read_text().replace("transport: file", f"transport: {transport}")
                      .replace("rate: 20/s", "rate: 100000/s")
                      .replace("concurrency: 4", f"concurrency: {concurrency}"))
    settings = load_settings(config)
    return Context(settings=settings, env=Environment(database, None, None, KEY, None),
                   clock=parse_now(NOW))


def sample_edition(ctx: Context) -> Edition:
    collect(ctx, RunReport())
    return upcoming_edition(ctx, ctx.settings.digests[0])


def sixteen_subsets(themes: list[str]) -> list[tuple[str, ...]]:
    """All themes, each theme alone, then pairs: the 16 variants of the benchmark."""
    subsets: list[tuple[str, ...]] = [()]
    subsets += [(t,) for t in themes]
    subsets += [(a, b) for i, a in enumerate(themes) for b in themes[i + 1:]]
    return subsets[:16]


def members(count: int, subsets: list[tuple[str, ...]]) -> list[Subscriber]:
    return [Subscriber(email=f"member{n:06d}@example.org", name=f"Member {n}", language="en",
                       digests=("weekly",), themes=subsets[n % len(subsets)], id=n + 1)
            for n in range(count)]


def ours(ctx: Context, edition: Edition, people: list[Subscriber]) -> tuple[float, int]:
    """Render once per variant, then sign and join per member; returns (seconds, bytes)."""
    links = edition_links(ctx.settings, edition.digest_id, edition.number)
    now = ctx.clock.now()
    list_id = make_list_id(ctx.settings, edition.digest_id)
    label = f"{edition.digest_id}/{edition.number}"
    started = time.perf_counter()
    factories: dict[VariantKey, MessageFactory] = {}
    total = 0
    for member in people:
        key = VariantKey.of(member.themes)
        factory = factories.get(key)
        if factory is None:
            variant = compose.variant_of(edition, key)
            factory = MessageFactory(render_edition_email(variant.edition, ctx.settings, links),
                                     ctx.settings, list_id, now)
            factories[key] = factory
        envelope = factory.build(recipient_for(ctx, member),
                                 make_message_id(ctx.settings, label, member.email))
        total += len(envelope.data)
    return time.perf_counter() - started, total // len(people)


def naive(ctx: Context, edition: Edition, people: list[Subscriber]) -> float:
    """Jinja → MJML → premailer → EmailMessage for every member."""
    links = edition_links(ctx.settings, edition.digest_id, edition.number)
    now = ctx.clock.now()
    sender = ctx.settings.site.sender
    started = time.perf_counter()
    for member in people:
        variant = compose.variant_of(edition, VariantKey.of(member.themes))
        rendered = render_edition_email(variant.edition, ctx.settings, links)
        recipient = recipient_for(ctx, member)
        values = {PLACEHOLDERS["unsubscribe_url"]: recipient.unsubscribe_url,
                  PLACEHOLDERS["preferences_url"]: recipient.preferences_url,
                  PLACEHOLDERS["name"]: member.name, PLACEHOLDERS["email"]: member.email}
        html, text = rendered.html, rendered.text
        for marker, value in values.items():
            html, text = html.replace(marker, value), text.replace(marker, value)
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = f"{sender.name} <{sender.address}>"
        message["To"] = f"{member.name} <{member.email}>"
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_message_id(ctx.settings, "naive", member.email)
        message["List-Unsubscribe"] = f"<{recipient.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        message.as_bytes()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=300, help="members for the naive pipeline")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temp:
        ctx = sample_context(Path(temp))
        edition = sample_edition(ctx)
        subsets = sixteen_subsets(list(ctx.settings.themes))
        people = members(args.members, subsets)
        cpu = time.process_time()
        ours_seconds, size = ours(ctx, edition, people)
        ours_cpu, cpu = time.process_time() - cpu, time.process_time()
        naive_seconds = naive(ctx, edition, people[:args.naive])
        naive_cpu = time.process_time() - cpu
        ours_rate = args.members / ours_seconds
        naive_rate = args.naive / naive_seconds
        # Per CPU second too: one core's rate, whatever else the machine runs meanwhile.
        print(f"prepare: {len(edition.items)} items, {len(subsets)} variants, "
              f"{args.members} members, mean message {size} bytes; load average "
              f"{os.getloadavg()[0]:.2f}")
        print(f"  ours : {ours_rate:10.0f} msg/s ({ours_seconds:.1f} s for {args.members}); "
              f"{args.members / ours_cpu:.0f} per CPU second")
        print(f"  naive: {naive_rate:10.1f} msg/s ({naive_seconds:.1f} s for {args.naive}); "
              f"{args.naive / naive_cpu:.1f} per CPU second")
        print(f"  ratio: {ours_rate / naive_rate:.0f}x (per CPU second "
              f"{args.members / ours_cpu / (args.naive / naive_cpu):.0f}x)")
        ctx.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
