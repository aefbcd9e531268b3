"""A job's ``RunReport`` as the JSON a worker stores in ``job_reports``, and back; and a
send job's outcome, so ``run --once --wait`` sums an edition's send jobs into the lines
one pass over its rows would have given (``jobs.delivery.count_outcome``)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any

from digest.models import RunReport, SourceReport

if TYPE_CHECKING:
    from digest.jobs.outbox import SendOutcome


def report_json(report: RunReport, outcome: tuple[str, SendOutcome] | None = None
                ) -> dict[str, Any]:
    """What ``job_reports.report`` keeps; ``outcome``: a send job's (edition label, pass)."""
    data: dict[str, Any] = {
        "sources": [asdict(source) for source in report.sources],
        "outputs": [list(pair) for pair in report.outputs],
        "editions": report.editions, "notes": report.notes, "to_review": report.to_review,
        "sent": report.sent, "failures": report.failures}
    if outcome is not None:
        data["outcome"] = {"label": outcome[0], **asdict(outcome[1])}
    return data


def report_of(data: dict[str, Any]) -> RunReport:
    """The ``RunReport`` a stored report holds (a send job's outcome aside)."""
    return RunReport(
        sources=[SourceReport(**source) for source in data.get("sources", [])],
        outputs=[(str(label), str(path)) for label, path in data.get("outputs", [])],
        editions=list(data.get("editions", [])), notes=list(data.get("notes", [])),
        to_review=list(data.get("to_review", [])), sent=int(data.get("sent", 0)),
        failures=list(data.get("failures", [])))


def outcome_of(data: dict[str, Any]) -> tuple[str, SendOutcome] | None:
    """A send job's (edition label, outcome), or None for any other job."""
    from digest.jobs.outbox import SendOutcome

    found = data.get("outcome")
    if not found:
        return None
    known = {f.name for f in fields(SendOutcome)}
    return str(found["label"]), SendOutcome(**{k: v for k, v in found.items() if k in known})


def read_stored(data: object) -> tuple[RunReport, tuple[str, SendOutcome] | None]:
    """A stored report and its send outcome, checked: ``ValueError`` naming what is wrong
    when the row is not what a worker writes (edited by hand, or by another version), so
    ``run --once --wait`` names that job instead of failing on it."""
    try:
        if data is None:
            raise TypeError("no report kept, or JSON null")
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        report, outcome = report_of(data), outcome_of(data)
        counts = [report.sent] + [getattr(source, name) for source in report.sources
                                  for name in ("new", "updated", "duplicate")]
        texts: list[object] = [*report.editions, *report.notes, *report.to_review,
                               *report.failures]
        if outcome is not None:
            counts += [getattr(outcome[1], name) for name in
                       ("sent", "failed", "deferred", "cancelled", "bounced")]
            texts += outcome[1].failures if type(outcome[1].failures) is list else [0]
        texts += [source.source_id for source in report.sources]
        if not all(type(count) is int for count in counts) or not all(
                isinstance(each, str) for each in texts):
            raise TypeError("a count that is no whole number, or a line that is no text")
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValueError(str(exc)) from None
    return report, outcome


def add_outcome(total: SendOutcome, part: SendOutcome) -> None:
    """Sum one send job's pass into an edition's total (the first stop or hold counts)."""
    for name in ("sent", "failed", "deferred", "cancelled", "bounced"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.stopped = total.stopped or part.stopped
    total.held = total.held or part.held
    total.failures.extend(part.failures)


def merge(into: RunReport, part: RunReport) -> None:
    """Append one job's report to the run's, in the order the jobs ran in one process."""
    into.sources += part.sources
    into.outputs += part.outputs
    into.editions += part.editions
    into.notes += part.notes
    into.to_review += part.to_review
    into.sent += part.sent
    into.failures += part.failures
