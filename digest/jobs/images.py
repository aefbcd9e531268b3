"""Whether a bulletin's images can be fetched (issue 11, section 3): an image a member's
mail client cannot load holds the bulletin, as its other lint errors do.

Each http(s) image of the bulletin's Markdown is probed (``sources.probe``: one ranged
GET, public addresses only, the sources' timeouts) where the bulletin's state is judged
(``jobs.bulletin_state``), so a run, ``digest status``, ``digest preview`` and the console
agree. Bounds, so a slow host never stalls a run or a preview:
- each probe within ``PROBE_SECONDS``, all of a bulletin's within ``TOTAL_SECONDS`` (an
  image not reached in time is an error too: the bulletin waits for the next run);
- each answer kept per address, ``KEEP_SECONDS`` when the image loads and
  ``KEEP_FAILED_SECONDS`` when not (a host back up is seen soon), so a preview refresh and
  the run that follows do not fetch again.
What holds: a host that cannot be found or is not public, an error status, a timeout, and
an answer that is not an image (``Content-Type`` not ``image/*``: an HTML error or login
page served with 200 shows as a broken image). A missing ``Content-Type`` is a warning.
A host down at the run holds the bulletin, and the run summary names the image and why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from digest.config import Settings
from digest.errors import SourceError
from digest.models import Bulletin
from digest.render.lint import Problem, bulletin_images
from digest.sources.addresses import AddressCheck, public_address_problem
from digest.sources.policy import FetchPolicy
from digest.sources.probe import Probed, probe

PROBE_SECONDS = 5.0
TOTAL_SECONDS = 15.0
KEEP_SECONDS = 300.0
KEEP_FAILED_SECONDS = 60.0
_KEPT_AT_MOST = 2048  # addresses remembered; the oldest are forgotten first

Verdict = tuple[str, str] | None  # (severity, why) or None: the image loads


@dataclass
class ImageChecks:
    """Probes with their answers kept a while; one per process (``CHECKS``), tests make
    their own (a local server needs ``check_address`` that lets loopback through)."""

    check_address: AddressCheck = public_address_problem
    probe_seconds: float = PROBE_SECONDS
    total_seconds: float = TOTAL_SECONDS
    keep_seconds: float = KEEP_SECONDS
    keep_failed_seconds: float = KEEP_FAILED_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    _kept: dict[str, tuple[float, Verdict]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def problems(self, bulletin: Bulletin, settings: Settings) -> list[Problem]:
        """One problem per image of ``bulletin`` that cannot be fetched, at its line."""
        images = bulletin_images(bulletin)
        if not images:
            return []
        policy = replace(FetchPolicy.from_settings(settings), retries=0,
                         timeout=min(self.probe_seconds, settings.collect.timeout.total_seconds()),
                         connect_timeout=min(self.probe_seconds,
                                             settings.collect.connect_timeout.total_seconds()))
        ends_at = self.monotonic() + self.total_seconds
        found: list[Problem] = []
        for location, url in images:
            verdict = self._verdict(url, policy, ends_at)
            if verdict is not None:
                severity, why = verdict
                found.append(Problem("error" if severity == "error" else "warning", location,
                                     f"image {url!r} {why}"))
        return found

    def _verdict(self, url: str, policy: FetchPolicy, ends_at: float) -> Verdict:
        now = self.monotonic()
        with self._lock:
            kept = self._kept.get(url)
        if kept is not None and kept[0] > now:
            return kept[1]
        left = ends_at - now
        if left <= 0:  # not kept: the next look tries again
            return ("error", f"was not checked: the {self.total_seconds:g}s allowed to "
                             "check the bulletin's images ran out")
        verdict = _judge(url, replace(policy, deadline=min(self.probe_seconds, left),
                                      monotonic=self.monotonic), self.check_address)
        with self._lock:
            if len(self._kept) >= _KEPT_AT_MOST:
                self._kept.pop(next(iter(self._kept)))
            keep = self.keep_seconds if verdict is None else self.keep_failed_seconds
            self._kept[url] = (self.monotonic() + keep, verdict)
        return verdict


def _judge(url: str, policy: FetchPolicy, check_address: AddressCheck) -> Verdict:
    try:
        answer: Probed = probe(url, policy, check_address=check_address)
    except SourceError as exc:
        return ("error", f"cannot be fetched: {exc}")
    if not answer.content_type:
        return ("warning", "is served without a Content-Type: some mail clients may not "
                           "show it")
    if not answer.content_type.startswith("image/"):
        return ("error", f"is not an image: {answer.url} answers {answer.content_type}")
    return None


CHECKS = ImageChecks()
"""The process's image checks, shared by runs, previews and the console."""


def image_problems(bulletin: Bulletin, settings: Settings) -> list[Problem]:
    """The bulletin's images that cannot be fetched (``CHECKS``)."""
    return CHECKS.problems(bulletin, settings)
