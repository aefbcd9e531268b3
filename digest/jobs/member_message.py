"""The exact email one member gets, for the console's "as member" preview.

The message is built as the outbox builds it (``MessageFactory``) and read back from its
bytes, so the preview shows what the member's mail client decodes, per-member values and
header cleaning included, and can never drift from what a run sends, but for one thing:
the member's unsubscribe and preferences links are the preview's stand-ins
(``forms.preview_values``: ``/u/preview``, ``/p/preview``, which open nothing). Their real
tokens act on the member's subscription without any sign-in, so a preview, shown to any
coordinator, bookmarked and shared, never holds them. Without a member, the preview
recipient of the written forms (``forms.sample_recipient``) stands in whole.

``Audience`` is what the coordinator chose: a member by address, or a (language, themes)
variant; ``resolve`` turns it into the variant key the outbox would use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

from digest import compose
from digest.config import Settings
from digest.errors import InputError
from digest.identifiers import VariantKey
from digest.jobs.context import Context
from digest.jobs.forms import sample_recipient
from digest.languages import is_language_tag
from digest.mail.message import MessageFactory, Recipient, make_list_id, make_message_id
from digest.mail.transports import PermanentFailure
from digest.models import RenderedEmail, Subscriber, SubscriberStatus
from digest.store import subscribers


@dataclass(frozen=True)
class Audience:
    """Whose email to show: ``member`` (an address) wins; else the variant of ``language``
    (empty: the site's) and ``themes`` (none: every theme); nothing chosen: the full email."""

    member: str = ""
    language: str = ""
    themes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chosen:
    """An audience resolved: the variant key, the member (if one was chosen) and a note
    when that member would not get this message at all."""

    key: VariantKey
    member: Subscriber | None
    note: str = ""


@dataclass(frozen=True)
class Delivered:
    """One message as its recipient's mail client reads it."""

    recipient: str
    subject: str
    html: str
    text: str


def resolve(ctx: Context, audience: Audience, follows: str | None) -> Chosen:
    """The variant ``audience`` names; ``follows`` is the digest whose members get the
    message (a bulletin's audience), to say when a chosen member would get nothing.
    ``InputError`` for an unknown member, theme or language."""
    settings = ctx.settings
    if audience.member.strip():
        with ctx.db.transaction() as connection:
            member = subscribers.by_email(connection, audience.member)
        if member is None:
            raise InputError(f"no member {audience.member.strip()!r}")
        key = compose.member_variant_key(member, settings.site.language)
        return Chosen(key, member, _absent(member, follows))
    unknown = [t for t in audience.themes if t not in settings.themes]
    if unknown:
        raise InputError(f"unknown theme {unknown[0]!r}")
    language = audience.language.strip()
    if language and not is_language_tag(language):
        raise InputError(f"{language!r} is not a language tag")
    site = settings.site.language.replace("_", "-").lower()
    chosen = language.replace("_", "-").lower()
    return Chosen(VariantKey.of(audience.themes, None if chosen in ("", site) else chosen),
                  None)


def _absent(member: Subscriber, follows: str | None) -> str:
    """Why ``member`` gets no message of this series, or "" when they get one."""
    if member.status is not SubscriberStatus.ACTIVE:
        return f"{member.email} is {member.status.value}: they get no message"
    if follows is not None and follows not in member.digests:
        return f"{member.email} does not follow {follows}: they get no message"
    return ""


def delivered(ctx: Context, email: RenderedEmail, series: str, label: str,
              member: Subscriber | None) -> Delivered:
    """The message ``member`` (None: the preview member) gets of ``email``, read back as a
    mail client decodes it, with stand-in links (``stand_in``). ``InputError`` when the
    member's address cannot receive mail."""
    settings: Settings = ctx.settings
    recipient = stand_in(ctx, member)
    factory = MessageFactory(email, settings, make_list_id(settings, series), ctx.clock.now())
    try:
        envelope = factory.build(recipient, make_message_id(settings, label, recipient.email))
    except PermanentFailure as exc:
        raise InputError(str(exc)) from None
    message = message_from_bytes(envelope.data, policy=email_policy.default)
    assert isinstance(message, EmailMessage)
    return Delivered(recipient=envelope.recipient, subject=str(message["Subject"]),
                     html=_part(message, "html"), text=_part(message, "plain"))


def stand_in(ctx: Context, member: Subscriber | None) -> Recipient:
    """``member``'s address and name with the preview's links in place of their tokens
    (None: the preview member): what a preview may show of a member."""
    sample = sample_recipient(ctx)
    if member is None:
        return sample
    return replace(sample, email=member.email, name=member.name)


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    if body is None:  # the factory always writes both parts
        raise InputError(f"the message has no text/{subtype} part")
    content = body.get_content()
    assert isinstance(content, str)
    return content


@dataclass(frozen=True)
class Choices:
    """What the "as member" form offers: the members who get the series (by address, at
    most ``limit``), the languages they read and the site's themes."""

    members: tuple[str, ...]
    languages: tuple[str, ...]
    themes: dict[str, str]


def choices(ctx: Context, follows: str | None, with_members: bool = True,
            limit: int = 500) -> Choices:
    """The form's choices for a series whose members follow ``follows`` (None: everyone);
    the members' addresses only ``with_members`` (a coordinator who may see them)."""
    with ctx.db.transaction() as connection:
        members = subscribers.active_for(connection, follows)
    languages = {ctx.settings.site.language, *(m.language for m in members if m.language)}
    shown = sorted(m.email for m in members) if with_members else []
    return Choices(members=tuple(shown)[:limit],
                   languages=tuple(sorted(languages)),
                   themes={slug: theme.title for slug, theme in ctx.settings.themes.items()})
