"""The console's bulletin editor: a bulletin's front matter as labelled form fields, its
Markdown body beside a preview, saved to its file in the bulletins folder.

- ``GET /admin/bulletins/new``, ``GET /admin/bulletins/<slug>/edit``: the form, with the
  preview of the body and the problems a run would find in the file, each at its field.
- ``POST`` to the same paths (permission ``edit``; the CSRF check is the access layer's):
  save, answered with the page again: "Saved", or the problems (400, nothing written), or
  a conflict (409) when the file changed since the form was loaded, with both texts side
  by side and the submitted one kept in the form (``digest.jobs.bulletin_files``). The
  form's "Preview" button posts the same fields and only shows the preview (no script).
- ``POST .../preview``: the preview alone, which the page's script fetches as the body is
  typed (debounced); ``GET /admin/editor/editor.js`` is that script (the console's pages
  allow scripts from the app itself only).

The form is posted as multipart (a 128 KB body is not tripled by percent-encoding), within
``limits.EDITOR_BODY_BYTES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from digest.errors import InputError
from digest.jobs import bulletin_files as files
from digest.jobs.bulletin_form import FIELDS, Draft, Parsed, Problem
from digest.render.i18n import N_
from digest.render.templating import render_template
from digest.web.admin.access import Console, Form, SignedIn
from digest.web.limits import EDITOR_BODY_BYTES

TEMPLATE = "editor.html.j2"
EDIT, NEW = N_("Edit bulletin"), N_("New bulletin")
SAVED = N_("Saved.")
UNCHANGED = N_("No change: the file already holds this text.")
NOT_SAVED = N_("Not saved: correct the fields marked below.")
CONFLICT = N_("Not saved: the file changed since you opened it. Your text is kept in the "
              "form; the file as it now is stands beside it. Copy what you need, then save "
              "again.")
GONE = N_("Not saved: the file is no longer in the bulletins folder. Your text is kept "
          "below: save it as a new bulletin.")


def routes(console: Console) -> list[BaseRoute]:
    """The editor's routes, relative to ``/admin``."""
    pages = _Editor(console)
    edit = console.action("edit", pages.save, max_field_bytes=EDITOR_BODY_BYTES)
    create = console.action("edit", pages.create, max_field_bytes=EDITOR_BODY_BYTES)
    preview = console.action("edit", pages.preview, max_field_bytes=EDITOR_BODY_BYTES)
    return [
        Route("/editor/editor.js", pages.script, methods=["GET"]),
        Route("/bulletins/new", console.page(pages.new), methods=["GET"]),
        Route("/bulletins/new", create, methods=["POST"]),
        Route("/bulletins/new/preview", preview, methods=["POST"]),
        Route("/bulletins/{slug}/edit", console.page(pages.edit), methods=["GET"]),
        Route("/bulletins/{slug}/edit", edit, methods=["POST"]),
        Route("/bulletins/{slug}/edit/preview", preview, methods=["POST"]),
    ]


class _Editor:
    """The endpoints; the file work runs in a thread (it reads and writes the disk)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.ctx = console.ctx

    async def script(self, request: Request) -> Response:
        text = render_template(self.ctx.settings, "web/admin/editor.js.j2", {})
        return Response(text, media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})

    async def new(self, request: Request, who: SignedIn) -> Response:
        return await self._page(request, who, lambda: self._form(
            request, who, None, files.blank(self.ctx).draft))

    async def edit(self, request: Request, who: SignedIn) -> Response:
        return await self._page(request, who, lambda: self._opened(request, who))

    def _opened(self, request: Request, who: SignedIn) -> Response:
        found = files.open_bulletin(self.ctx, request.path_params["slug"])
        return self._form(request, who, found, found.parsed.draft)

    async def save(self, request: Request, who: SignedIn, form: Form) -> Response:
        draft = Draft.of_form(form)
        slug = request.path_params["slug"]
        if _pressed(form, "preview"):
            return await self._page(request, who, lambda: self._form(
                request, who, files.open_bulletin(self.ctx, slug), draft, preview=True,
                based_on=_last(form, "based_on")))
        based_on = _last(form, "based_on")
        return await self._page(request, who, lambda: self._answer(
            request, who, files.save(self.ctx, slug, draft, based_on, who.email), draft))

    async def create(self, request: Request, who: SignedIn, form: Form) -> Response:
        draft = Draft.of_form(form)
        if _pressed(form, "preview"):
            return await self._page(request, who, lambda: self._form(
                request, who, None, draft, preview=True))
        slug = draft.fields.get("slug", "")
        return await self._page(request, who, lambda: self._answer(
            request, who, files.create(self.ctx, slug, draft, who.email), draft, new=True))

    async def preview(self, request: Request, who: SignedIn, form: Form) -> Response:
        draft = Draft.of_form(form)
        html = await run_in_threadpool(files.preview_html, self.ctx, draft.body,
                                       self.console.language(request))
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def _page(self, request: Request, who: SignedIn,
                    build: Callable[[], Response]) -> Response:
        try:
            return await run_in_threadpool(build)
        except files.UnknownBulletinError:
            return self.console.render(request, who, "editor_missing.html.j2",
                                       title=EDIT, status=404,
                                       new_url=self.console.url("/bulletins/new"))
        except InputError as exc:  # a file the editor cannot hold (over 128 KB, not UTF-8)
            return self.console.render(request, who, "editor_missing.html.j2",
                                       title=EDIT, status=422, problem=str(exc),
                                       new_url=self.console.url("/bulletins/new"))

    def _answer(self, request: Request, who: SignedIn, result: files.SaveResult,
                draft: Draft, new: bool = False) -> Response:
        if isinstance(result, files.Saved):
            return self._form(request, who, result.file, result.file.parsed.draft,
                              message=SAVED if result.changed else UNCHANGED, saved=True)
        if isinstance(result, files.Invalid):
            return self._form(request, who, None if new else self._current(request), draft,
                              problems=result.problems, error=NOT_SAVED, status=400)
        if result.on_disk is None:
            return self._form(request, who, None, draft, error=GONE, status=409)
        return self._form(request, who, result.on_disk, draft, error=CONFLICT, status=409,
                          conflict=result)

    def _current(self, request: Request) -> files.BulletinText | None:
        try:
            return files.open_bulletin(self.ctx, request.path_params["slug"])
        except InputError:
            return None

    def _form(self, request: Request, who: SignedIn, file: files.BulletinText | None,
              draft: Draft, *, problems: tuple[Problem, ...] | None = None,
              message: str = "", error: str = "", status: int = 200, preview: bool = False,
              saved: bool = False, based_on: str | None = None,
              conflict: files.Conflict | None = None) -> Response:
        """The editor page for ``file`` (None: a new bulletin) holding ``draft``."""
        shown = file.problems if problems is None and file is not None else problems or ()
        by_field: dict[str, list[str]] = {}
        for problem in shown:
            by_field.setdefault(problem.field, []).append(problem.text)
        action = (self.console.url(f"/bulletins/{file.slug}/edit") if file is not None
                  else self.console.url("/bulletins/new"))
        parsed: Parsed | None = file.parsed if file is not None else None
        values: dict[str, Any] = {
            "new": file is None, "file": file, "action": action,
            "preview_url": action + "/preview",
            "editor_script": self.console.url("/editor/editor.js"),
            "fields": {name: draft.fields.get(name, "") for name in FIELDS if name != "themes"},
            "ticked": set(draft.themes), "body": draft.body,
            "themes": {slug: theme.title for slug, theme in self.ctx.settings.themes.items()},
            "problems": by_field, "all_problems": shown,
            "based_on": based_on if based_on is not None else file.version if file else "",
            "dropped": parsed.dropped if parsed is not None else (),
            "preview_html": Markup(files.preview_html(
                self.ctx, draft.body, self.console.language(request))),
            "previewed": preview, "saved": saved, "conflict": conflict,
            "csrf": who.csrf,
        }
        return self.console.render(request, who, TEMPLATE, title=NEW if file is None else EDIT,
                                   status=status, message=message, error=error, **values)


def _last(form: Form, name: str) -> str:
    return (form.get(name) or [""])[-1]


def _pressed(form: Form, button: str) -> bool:
    return _last(form, "do") == button
