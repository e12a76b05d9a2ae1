"""What every FHIR search shares (http://hl7.org/fhir/R4/search.html): value parsing, the refusal of unknown
parameters (or leaving them out under Prefer: handling=lenient), the result parameters _count, _offset, _summary
and _total, and the Bundle with its links and audit entries.

Apart from the search routes (api/search.py and the other api modules), so that a module a route hands a search to
(api/back_referrals.py) can use it without importing the routes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response, g, request
from sqlalchemy import ColumnElement, Select

from triage_service.api.io import fhir_response
from triage_service.api.preferences import preference
from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.errors import N_, InvalidInput
from triage_service.fhir.mapping import searchset
from triage_service.models import AuditAction
from triage_service.outcome import Issue, operation_outcome
from triage_service.request_context import base_url, clock, settings
from triage_service.security.policy import request_actor

#: Result parameters every search takes; _format is checked by content negotiation. _summary=count answers the
#: total without entries; _total=none leaves the total out (and spares the count), estimate and accurate
#: both get the exact count, which we always have.
#: _totalMethod is Aidbox's name for _total, which fhirpy's count() sends with _count=0: we always count
#: exactly, so it is taken and needs no value check.
_PAGING = {"_count", "_offset", "_format", "_summary", "_total", "_totalMethod"}
_SUMMARIES = ("count", "false")
_TOTALS = ("none", "estimate", "accurate")
#: Bounds _offset to what the databases can take (PostgreSQL OFFSET is a bigint).
_MAX_OFFSET = 1_000_000_000
_PREFIXES = {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"}


def split_values(raw: str) -> list[str]:
    return [v for v in raw.split(",") if v]


def reference_id(value: str, rtype: str) -> str:
    return value.removeprefix(f"{rtype}/").split("/")[0]


def split_token(value: str) -> tuple[str | None, str]:
    system, sep, code = value.rpartition("|")
    return (system or None, code) if sep else (None, value)


def token_matches(value: str, system: str, code: str) -> bool:
    """Whether a token search value names a coding, in the forms of http://hl7.org/fhir/R4/search.html#token:
    ``code`` (in any system), ``system|code``, ``|code`` (a code without a system) and ``system|`` (any code of
    the system). Unlike split_token, which reads ``|code`` as ``code``, it keeps ``|code`` apart."""
    if "|" not in value:
        return value == code
    wanted_system, _, wanted_code = value.rpartition("|")
    return wanted_system == system and wanted_code in ("", code)


def date_clause(column: Any, raw: str, parameter: str = "_lastUpdated") -> ColumnElement[bool]:
    prefix = raw[:2] if raw[:2] in _PREFIXES else "eq"
    text = raw[2:] if raw[:2] in _PREFIXES else raw
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(N_("%(parameter)s '%(raw)s' is not a date or dateTime (e.g. ge2026-11-01)"),
                           expression=parameter, params={"parameter": parameter, "raw": raw}) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    clauses: dict[str, Callable[[], ColumnElement[bool]]] = {
        "gt": lambda: column > moment, "sa": lambda: column > moment, "ge": lambda: column >= moment,
        "lt": lambda: column < moment, "eb": lambda: column < moment, "le": lambda: column <= moment,
        "eq": lambda: column == moment, "ne": lambda: column != moment,
    }
    return clauses[prefix]()


def page_window() -> tuple[int, int]:
    """The page a search answers, as (count, offset): _count and _offset checked and bounded, _summary and _total
    checked, and count 0 for _summary=count (the total only). Every search takes it, the ORM-paged ones through
    page_of and the back-referrals' lists (api/back_referrals.py) directly, so each answers _count alike."""
    conf = settings()
    try:
        count = int(request.args.get("_count", conf.default_page_size))
        offset = int(request.args.get("_offset", 0))
    except ValueError as exc:
        raise InvalidInput(N_("_count and _offset must be whole numbers")) from exc
    if count < 0 or offset < 0 or offset > _MAX_OFFSET:
        raise InvalidInput(N_("_count and _offset must be between 0 and %(limit)s"),
                           params={"limit": _MAX_OFFSET})
    summary = _result_parameter("_summary", _SUMMARIES)
    _result_parameter("_total", _TOTALS)
    # _summary=count: the total only, so no entries, no rows read and no next page.
    return (0 if summary == "count" else min(count, conf.max_page_size)), offset


def wants_total() -> bool:
    """Whether the Bundle states its total: not under _total=none, unless _summary=count asks for nothing else."""
    return request.args.get("_total") != "none" or request.args.get("_summary") == "count"


def page_of(query: Select[Any], count_query: Select[Any]) -> tuple[list[Any], int | None, int, int]:
    count, offset = page_window()
    session = get_session()
    total = (session.scalar(count_query) or 0) if wants_total() else None
    rows = list(session.scalars(query.limit(count).offset(offset))) if count else []
    return rows, total, count, offset


def _result_parameter(name: str, supported: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in supported:
        raise InvalidInput(N_("%(parameter)s=%(value)s is not supported; supported: %(supported)s"), expression=name,
                           params={"parameter": name, "value": value, "supported": ", ".join(supported)})
    return value


def page_links(rtype: str, count: int, offset: int, total: int | None, got: int) -> tuple[str, str | None]:
    # The self link says what the search did: parameters left out under handling=lenient are not in it.
    ignored = g.get("ignored_search_parameters", ())
    params = [(k, v) for k, v in request.args.items(multi=True)
              if (k not in _PAGING and k not in ignored) or k in ("_summary", "_total", "_totalMethod")]
    base = f"{base_url()}/{rtype}"
    self_url = f"{base}?{urlencode([*params, ('_count', count), ('_offset', offset)])}"
    next_url = None
    # Without a total (_total=none) a full page may have a next one; an empty next page is a correct answer.
    if count and (offset + count < total if total is not None else got == count):
        next_url = f"{base}?{urlencode([*params, ('_count', count), ('_offset', offset + count)])}"
    return self_url, next_url


def check_params(allowed: set[str]) -> None:
    """Unknown parameters are refused, unless the client prefers lenient handling (Prefer: handling=lenient,
    http://hl7.org/fhir/R4/search.html#errors): then they are left out, and the Bundle says which."""
    unknown = sorted({k for k in request.args if k not in allowed | _PAGING})
    if unknown and preference("handling") == "lenient":
        g.ignored_search_parameters = tuple(unknown)
    elif unknown:
        raise InvalidInput(N_("Unsupported search parameter(s): %(unknown)s; supported: %(supported)s"),
                           params={"unknown": ', '.join(unknown), "supported": ', '.join(sorted(allowed | _PAGING))})


def search_bundle(rtype: str, resources: list[dict[str, Any]], patients: list[str | None], total: int | None,
                  count: int,
             offset: int) -> Response:
    session, now, actor = get_session(), clock(), request_actor()
    names = ",".join(sorted(set(request.args)))  # parameter names only: values may identify patients
    record(session, actor, event="fhir.search", action=AuditAction.EXECUTE, resource_type=rtype,
           detail=f"params={names}; returned={len(resources)}", at=now)
    for patient in sorted({p for p in patients if p}):
        # NEN 7513 asks per patient whose data was shown, so every patient in the page gets a row.
        record(session, actor, event="fhir.search.result", action=AuditAction.READ, resource_type=rtype,
               patient_ref=patient, at=now)
    self_url, next_url = page_links(rtype, count, offset, total, len(resources))
    return fhir_response(searchset(resources, total, self_url, next_url, base_url(), outcome=left_out_outcome()))


def left_out_outcome() -> dict[str, Any] | None:
    """The outcome entry naming the parameters a lenient search left out (Prefer: handling=lenient), if any."""
    ignored = g.get("ignored_search_parameters", ())
    if not ignored:
        return None
    return operation_outcome([Issue("not-supported", N_("Search parameter(s) left out: %(ignored)s"),
                                    severity="warning", params={"ignored": ", ".join(ignored)})])
