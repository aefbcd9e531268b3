"""Members, for coordinators: search, one member's messages with the server's answers, the
problems (bounces, failed messages), CSV export, and CSV import in two steps.

Import: ``POST /admin/members/import`` takes the upload (multipart; the only route whose
body may reach 16 MB, ``limits.UPLOAD_PATHS``) and answers with the dry run: what would be
added, changed and refused, with each refused row's ``FILE:LINE``. Any coordinator may run
it (it changes no member); applying it (``POST /admin/members/import/apply`` with the dry
run's token and hash) needs the ``approve`` permission. The upload form posts a file, which
the console's bounded form reading refuses; ``upload.read_upload`` reads its CSRF token
from the form's first field and checks it before a byte of the file is kept (never in the
URL). Every members page needs the ``members`` permission: a site-level coordinator.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from digest.dates import console_stamp
from digest.errors import InputError
from digest.jobs import members_admin
from digest.render.i18n import N_
from digest.store.member_csv import MAX_CSV_BYTES
from digest.web.admin.access import Console, Form, SignedIn
from digest.web.admin.upload import Refused, read_upload

MEMBERS = N_("Members")
MEMBER = N_("Member")
NO_MEMBER = N_("No such member.")
IMPORT = N_("Import members")
PROBLEMS = N_("Bounces and failures")
NO_FILE = N_("Choose a CSV file to upload.")
NOT_A_FORM = N_("The upload could not be read: send one CSV file.")
APPLIED = N_("The import is done.")
SHOWN_ROWS = 500  # of each list of a dry run: a 100 000-row file makes no 20 MB page
STATES = {"active": N_("active"), "unsubscribed": N_("unsubscribed"),
          "bounced": N_("bounced"), "pending": N_("pending"), "sending": N_("sending"),
          "sent": N_("sent"), "failed": N_("failed"), "cancelled": N_("cancelled")}


def routes(console: Console) -> list[BaseRoute]:
    """The members' routes, relative to /admin."""
    pages = _Pages(console)
    return [
        Route("/members", console.page(pages.search, "members"), methods=["GET"]),
        Route("/members.csv", console.page(pages.export, "members"), methods=["GET"]),
        Route("/members/problems", console.page(pages.problems, "members"), methods=["GET"]),
        Route("/members/import", console.page(pages.import_form, "members"),
              methods=["GET"]),
        Route("/members/import", pages.upload, methods=["POST"]),
        Route("/members/import/apply", console.action("approve", pages.apply),
              methods=["POST"]),
        Route("/members/{member_id:int}", console.page(pages.member, "members"),
              methods=["GET"]),
    ]


def _digits(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and len(value) <= 6 else default


class _Pages:
    """The endpoints; store work runs in Starlette's thread pool (the store is sync)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.ctx = console.ctx

    def _render(self, request: Request, who: SignedIn, template: str, title: str,
                **values: Any) -> Response:
        zone = self.ctx.settings.site.zone
        return self.console.render(request, who, template, title=title, states=STATES,
                                   stamp=lambda moment: console_stamp(moment, zone), **values)

    async def search(self, request: Request, who: SignedIn) -> Response:
        """``?q=`` (part of an address or name), ``&status=``, ``&page=``."""
        query = request.query_params.get("q", "")
        status = request.query_params.get("status", "")
        page = _digits(request.query_params.get("page"), 1)
        try:
            found = await run_in_threadpool(members_admin.search, self.ctx, query, status, page)
        except InputError as exc:
            return self._render(request, who, "members.html.j2", MEMBERS, status=400,
                                error=str(exc), query=query[:200], chosen=status, found=None)
        return self._render(request, who, "members.html.j2", MEMBERS, query=query,
                            chosen=status, found=found)

    async def member(self, request: Request, who: SignedIn) -> Response:
        found = await run_in_threadpool(members_admin.member, self.ctx,
                                        int(request.path_params["member_id"]))
        if found is None:
            return self._render(request, who, "members_member.html.j2", MEMBER, status=404,
                                error=NO_MEMBER, member=None, deliveries=[])
        reports = await run_in_threadpool(members_admin.member_reports, self.ctx,
                                          int(request.path_params["member_id"]))
        return self._render(request, who, "members_member.html.j2", MEMBER,
                            member=found[0], deliveries=found[1], reports=reports)

    async def problems(self, request: Request, who: SignedIn) -> Response:
        bounced, failed = await run_in_threadpool(members_admin.problems, self.ctx)
        return self._render(request, who, "members_problems.html.j2", PROBLEMS,
                            bounced=bounced, failed=failed)

    async def export(self, request: Request, who: SignedIn) -> Response:
        data = await run_in_threadpool(members_admin.export, self.ctx, who.email)
        return Response(data, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="members.csv"',
            "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    def _import_page(self, request: Request, who: SignedIn, status: int = 200,
                     **values: Any) -> Response:
        values = {"plan": None, "upload": None, "done": False, **values}
        return self._render(request, who, "members_import.html.j2", IMPORT, status=status,
                            upload_action=self.console.url("/members/import"),
                            max_mb=MAX_CSV_BYTES // (1024 * 1024), shown_rows=SHOWN_ROWS,
                            **values)

    async def import_form(self, request: Request, who: SignedIn) -> Response:
        return self._import_page(request, who)

    async def upload(self, request: Request) -> Response:
        """The dry run of an uploaded CSV. As for every console POST, no session, a role
        without ``members`` (checked before the body is read) or a wrong CSRF token (the
        form's first field, checked before the file is read) answers 403."""
        if self.console.foreign(request):
            return self.console.forbidden(request, None)
        who = await run_in_threadpool(self.console.who, request)
        if who is None or not who.may("members"):
            return self.console.forbidden(request, who)
        sent = await read_upload(request, who.csrf, MAX_CSV_BYTES)
        if sent is Refused.FORBIDDEN:
            return self.console.forbidden(request, who)
        if isinstance(sent, Refused):
            return self._import_page(request, who, 400,
                                     error=NO_FILE if sent is Refused.NO_FILE else NOT_A_FORM)
        return await run_in_threadpool(self._preview, request, who, sent.data, sent.name)

    def _preview(self, request: Request, who: SignedIn, data: bytes, name: str) -> Response:
        try:
            upload = members_admin.keep_upload(self.ctx, data, name)
            plan = members_admin.preview_import(self.ctx, upload, who.email)
        except InputError as exc:
            return self._import_page(request, who, 400, error=str(exc))
        return self._import_page(request, who, plan=plan, upload=upload)

    async def apply(self, request: Request, who: SignedIn, form: Form) -> Response:
        def last(name: str) -> str:
            return (form.get(name) or [""])[-1]

        try:
            upload, done = await run_in_threadpool(
                lambda: members_admin.apply_upload(self.ctx, last("token"), last("sha256"),
                                                   who.email, update=last("update") == "1"))
        except InputError as exc:
            return self._import_page(request, who, 400, error=str(exc))
        return self._import_page(request, who, plan=done, upload=upload, done=True,
                                 message=APPLIED)
