"""The console's actions (docs/console.md, "Acting"): POST forms under a bulletin's or an
edition's page, each answered with that page again and a message, never a redirect.

- ``/admin/bulletins/<slug>/``: ``test``, ``approve`` (``reason`` overrides lint errors,
  ``content_hash`` is what the approver looked at), ``reject`` (``note``), ``schedule``
  (``send_at``, a ``datetime-local`` value in the site's zone; empty: the file's), and,
  once it is sent, its edition's ``pause``, ``resume``, ``cancel``, ``retry-failed``;
- ``/admin/editions/<digest>/<number>/``: ``test`` (``to``, ``language``, ``themes``),
  ``approve`` (``draft_version``: the draft the approver looked at), ``pause``,
  ``resume``, ``cancel`` (``reason``), ``retry-failed``, and on a draft the curation:
  ``omit``, ``restore``, ``pin``, ``unpin`` (``item``), ``note`` (``note_version``: the
  note it was written over; a note refused is kept in the form).

A GET of an action's path shows the page as the action's answer does (its live refresh
fetches it). Session, CSRF token and role are the access layer's checks (403, nothing read further);
an edition's actions count the digest's own coordinators (``digest_of``). The jobs make
each change with its audit row and refuse what the state does not allow (``InputError``:
the page again with its message, 409; a form that cannot be read as asked, 400).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from digest.dates import console_stamp, parse_console_field
from digest.errors import InputError, RenderError
from digest.jobs import curation, edition_actions, review
from digest.jobs.copies import send_test
from digest.jobs.member_message import Audience, resolve
from digest.render.i18n import N_, translate
from digest.web.admin.access import Console, Form, SignedIn
from digest.web.admin.acting import PERMISSIONS
from digest.web.admin.previews import pages_of

# A test copy's addresses as typed: one a line, or separated by commas or spaces.
_SEPARATORS = re.compile(r"[\s,;]+")
MAX_TYPED = 100  # entries read from the field at most (the job allows 20 addresses)
BAD_FORM, REFUSED = 400, 409

TEST_SENT = N_("Test copy sent to %(addresses)s.")
APPROVED, REJECTED = N_("Approved."), N_("Rejected.")
SCHEDULED, UNSCHEDULED = N_("Scheduled for %(when)s."), N_("Sent at its file's send_at.")
PAUSED, RESUMED, CANCELLED = N_("Paused."), N_("Resumed."), N_("Cancelled.")
RETRIED = N_("Failed messages queued again: %(count)d.")
OMITTED, RESTORED = N_("Item left out."), N_("Item restored.")
PINNED, UNPINNED = N_("Item pinned first."), N_("Item unpinned.")
NOTE_SAVED = N_("Note saved.")
NOTE_NEEDED = N_("A rejection needs a note saying what to change.")
BAD_SEND_AT = N_("Send at: give a date and a time, e.g. 2030-01-31T09:00.")
NO_EDITION = N_("This bulletin has no edition yet: nothing is being sent.")
NO_ITEM = N_("Choose an item.")
TOO_MANY = N_("Too many addresses: a test copy goes to 20 addresses at most.")
NOTE_TOO_LONG = N_("The note is too long: keep it to a few paragraphs (8 KB).")

Act = Callable[[Request, SignedIn, Form], str]  # the message, or InputError


def routes(console: Console) -> list[BaseRoute]:
    """The actions' routes, relative to ``/admin`` (after the preview pages)."""
    acts = _Actions(console)
    bulletin, edition = "/bulletins/{slug}", "/editions/{digest}/{number:int}"
    found: list[BaseRoute] = []
    for name, act in (
            ("test", acts.bulletin_test), ("approve", acts.bulletin_approve),
            ("reject", acts.bulletin_reject), ("schedule", acts.bulletin_schedule),
            ("pause", acts.bulletin_edition(edition_actions.pause, PAUSED)),
            ("resume", acts.bulletin_edition(edition_actions.resume, RESUMED)),
            ("cancel", acts.bulletin_edition(edition_actions.cancel, CANCELLED)),
            ("retry-failed", acts.bulletin_retry)):
        found += [Route(f"{bulletin}/{name}", acts.endpoint(name, act, edition=False),
                        methods=["POST"]),
                  Route(f"{bulletin}/{name}", acts.page(edition=False), methods=["GET"])]
    for name, act in (
            ("test", acts.edition_test), ("approve", acts.edition_approve),
            ("pause", acts.edition(edition_actions.pause, PAUSED)),
            ("resume", acts.edition(edition_actions.resume, RESUMED)),
            ("cancel", acts.edition_cancel), ("retry-failed", acts.edition_retry),
            ("omit", acts.curate(curation.omit, OMITTED)),
            ("restore", acts.curate(curation.restore, RESTORED)),
            ("pin", acts.curate(curation.pin, PINNED)),
            ("unpin", acts.curate(curation.unpin, UNPINNED)), ("note", acts.note)):
        found += [Route(f"{edition}/{name}", acts.endpoint(name, act, edition=True),
                        methods=["POST"]),
                  Route(f"{edition}/{name}", acts.page(edition=True), methods=["GET"])]
    return found


def _digest_of(request: Request) -> str | None:
    return str(request.path_params["digest"])


def _field(form: Form, name: str) -> str:
    return (form.get(name) or [""])[-1]


def _label(request: Request) -> str:
    return f"{request.path_params['digest']}/{request.path_params['number']}"


class _FormError(Exception):
    """A form that cannot be read as the action needs it (400); its message id."""


class _Actions:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.ctx = console.ctx

    def endpoint(self, name: str, act: Act, *, edition: bool,
                 ) -> Callable[[Request], Awaitable[Response]]:
        """The POST endpoint of action ``name``: the access checks (its permission, in
        ``acting.PERMISSIONS``; curation's is ``curate``), the action in a thread (it reads
        the store and the disk, may send mail), then the page with its outcome. A refusal
        by the job is 409, but a test copy's (the addresses or variant typed): 400."""
        pages = pages_of(self.console)
        permission = PERMISSIONS.get(name, PERMISSIONS["curate"])
        refused = BAD_FORM if name == "test" else REFUSED

        async def handler(request: Request, who: SignedIn, form: Form) -> Response:
            language = self.console.language(request)
            message, error, status = "", "", 200
            try:
                message = await run_in_threadpool(act, request, who, form)
            except _FormError as exc:
                error, status = translate(language, str(exc)), BAD_FORM
            except InputError as exc:
                error, status = str(exc), refused
            except RenderError as exc:
                error, status = str(exc), 500
            answer = pages.edition_answer if edition else pages.bulletin_answer
            # A note refused (changed meanwhile, too long...) stays in its form, not lost.
            typed = _field(form, "note") if name == "note" and status != 200 else None
            return await answer(request, who, message=message, error=error, status=status,
                                note=typed)

        return self.console.action(permission, handler,
                                   digest_of=_digest_of if edition else lambda r: None)

    def page(self, *, edition: bool) -> Callable[[Request], Awaitable[Response]]:
        """GET at an action's path: the page as its answer shows it, without a message.
        The answer's live refresh fetches its own address (``preview.js``), and a reload
        or a bookmark of it shows the page rather than an error."""
        pages = pages_of(self.console)

        async def handler(request: Request, who: SignedIn) -> Response:
            return await (pages.edition_answer if edition else pages.bulletin_answer)(
                request, who)

        return self.console.page(handler)

    def _say(self, request: Request, message: str, **values: object) -> str:
        """A message with values, in the reader's language."""
        return translate(self.console.language(request), message) % values

    # ---------------------------------------------------------------- test copies

    def _addresses(self, who: SignedIn, form: Form) -> list[str]:
        typed = [a for a in _SEPARATORS.split(_field(form, "to")) if a][:MAX_TYPED + 1]
        if len(typed) > MAX_TYPED:
            raise _FormError(TOO_MANY)
        return typed or [who.email]

    def _sent(self, request: Request, answers: tuple[tuple[str, str], ...]) -> str:
        return self._say(request, TEST_SENT, addresses=", ".join(a for a, _ in answers))

    def bulletin_test(self, request: Request, who: SignedIn, form: Form) -> str:
        copy = send_test(self.ctx, f"bulletin:{request.path_params['slug']}",
                         self._addresses(who, form), None, who.email)
        return self._sent(request, copy.answers)

    def edition_test(self, request: Request, who: SignedIn, form: Form) -> str:
        audience = Audience(language=_field(form, "language")[:35],
                            themes=tuple(t[:100] for t in form.get("themes", [])[:50] if t))
        # The variant as the preview names it (the site's language is the default one).
        variant = resolve(self.ctx, audience, str(request.path_params["digest"])).key
        copy = send_test(self.ctx, _label(request), self._addresses(who, form), variant,
                         who.email)
        return self._sent(request, copy.answers)

    # ---------------------------------------------------------------- bulletins

    def bulletin_approve(self, request: Request, who: SignedIn, form: Form) -> str:
        review.approve_bulletin(self.ctx, request.path_params["slug"], who.email,
                                _field(form, "reason"),
                                content_hash=_field(form, "content_hash") or None)
        return self._say(request, APPROVED)

    def bulletin_reject(self, request: Request, who: SignedIn, form: Form) -> str:
        note = _field(form, "note")
        if not note.strip():
            raise _FormError(NOTE_NEEDED)
        review.reject_bulletin(self.ctx, request.path_params["slug"], who.email, note,
                               content_hash=_field(form, "content_hash") or None)
        return self._say(request, REJECTED)

    def bulletin_schedule(self, request: Request, who: SignedIn, form: Form) -> str:
        zone = self.ctx.settings.site.zone
        typed = _field(form, "send_at").strip()
        try:
            send_at = parse_console_field(typed, zone) if typed else None
        except ValueError:
            raise _FormError(BAD_SEND_AT) from None
        review.schedule_bulletin(self.ctx, request.path_params["slug"], who.email, send_at)
        if send_at is None:
            return self._say(request, UNSCHEDULED)
        return self._say(request, SCHEDULED, when=console_stamp(send_at, zone))

    def _bulletin_edition(self, request: Request) -> str:
        edition = review.find_bulletin(self.ctx, request.path_params["slug"]).status.edition
        if edition is None:
            raise InputError(translate(self.console.language(request), NO_EDITION))
        return edition.label

    def bulletin_edition(self, change: Callable[..., object], done: str) -> Act:
        def act(request: Request, who: SignedIn, form: Form) -> str:
            change(self.ctx, self._bulletin_edition(request), who.email)
            return self._say(request, done)
        return act

    def bulletin_retry(self, request: Request, who: SignedIn, form: Form) -> str:
        queued = edition_actions.retry_failed(self.ctx, self._bulletin_edition(request),
                                              who.email)
        return self._say(request, RETRIED, count=queued)

    # ---------------------------------------------------------------- editions

    def edition(self, change: Callable[..., object], done: str) -> Act:
        def act(request: Request, who: SignedIn, form: Form) -> str:
            change(self.ctx, _label(request), who.email)
            return self._say(request, done)
        return act

    def edition_approve(self, request: Request, who: SignedIn, form: Form) -> str:
        edition_actions.approve(self.ctx, _label(request), who.email,
                                _field(form, "reason").strip() or None,
                                seen=_field(form, "draft_version") or None)
        return self._say(request, APPROVED)

    def edition_cancel(self, request: Request, who: SignedIn, form: Form) -> str:
        edition_actions.cancel(self.ctx, _label(request), who.email,
                               _field(form, "reason").strip() or None)
        return self._say(request, CANCELLED)

    def edition_retry(self, request: Request, who: SignedIn, form: Form) -> str:
        queued = edition_actions.retry_failed(self.ctx, _label(request), who.email)
        return self._say(request, RETRIED, count=queued)

    def curate(self, change: Callable[..., object], done: str) -> Act:
        def act(request: Request, who: SignedIn, form: Form) -> str:
            item = _field(form, "item")
            if not item:
                raise _FormError(NO_ITEM)
            change(self.ctx, _label(request), item, who.email)
            return self._say(request, done)
        return act

    def note(self, request: Request, who: SignedIn, form: Form) -> str:
        note = _field(form, "note")
        if len(note.encode()) > curation.NOTE_LIMIT + 1024:  # room for \r\n and spaces
            raise _FormError(NOTE_TOO_LONG)
        curation.set_note(self.ctx, _label(request), note, who.email,
                          based_on=_field(form, "note_version") or None)
        return self._say(request, NOTE_SAVED)
