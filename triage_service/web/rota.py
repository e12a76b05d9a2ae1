"""The on-call rota in the inbox (``/inbox/rooster``): per specialism of the user's organisation, the coming
two weeks of shifts with who is on call now, and for the rota maker the forms to add, change and delete a
shift and to upload a CSV or iCalendar rota (agreements/rota.py keeps the rules).

Who: the organisation's rota maker (UserRole.ROTA_MAKER) changes it; its specialists see it, read-only (they
want to know when they are on call, and who their backup is); everyone else gets 403. A rota maker sees
nothing but these pages (security/policy.py ``ROTA_ENDPOINTS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from triage_service.agreements.rota import (
    GIVE_TO,
    add_shift,
    change_shift,
    delete_shift,
    get_shift,
    import_rota,
    neighbours,
    rota_specialisms,
    rota_specialists,
    shifts_between,
    uncovered_periods,
)
from triage_service.agreements.rota_files import RotaError, RotaRefused, read_form_shift, read_rota_file
from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.errors import InvalidInput, NotFound
from triage_service.models import AuditAction, OnCallShift, Organisation, OrganisationKind, Practitioner
from triage_service.request_context import clock
from triage_service.routing.service import specialism_label
from triage_service.routing.working_time import AMSTERDAM
from triage_service.security.web_auth import InboxUser
from triage_service.web.views import bp, current_user, inbox_actor

WINDOW_DAYS = 14
#: A rota of a year is a few tens of kilobytes; a bigger file is another file.
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Row:
    """A line of the rota as shown: a shift, or hours nobody is on call (``shift`` None)."""

    starts_at: datetime
    ends_at: datetime
    shift: OnCallShift | None
    current: bool


@dataclass
class Section:
    code: str
    label: str
    rows: list[Row]
    now: OnCallShift | None
    specialists: list[Practitioner]
    #: The add form's values: what was posted, or a next shift proposed after the last one.
    values: dict[str, str]
    form_errors: dict[str, list[str]] = field(default_factory=dict)
    upload_errors: list[str] = field(default_factory=list)


def _refuse(status: int, reason: str) -> NoReturn:
    abort(make_response(render_template("error.html", status=status, reason=reason), status))


def rota_access(write: bool) -> tuple[InboxUser, Organisation]:
    """The user and their specialist organisation, if they may see (or, ``write``, change) its rota."""
    user = current_user()
    organisation = get_session().get(Organisation, user.organisation_id) if user.organisation_id else None
    allowed = user.keeps_rota if write else user.sees_rota
    if not allowed or organisation is None or organisation.kind is not OrganisationKind.SPECIALIST_ORGANISATION:
        _refuse(403, _("The on-call rota is kept by the rota maker of a specialist organisation; its specialists "
                       "can read it."))
    return user, organisation


def _specialism(organisation: Organisation) -> str:
    code = request.form.get("specialism", "")
    if code not in rota_specialisms(get_session(), organisation.id):
        raise InvalidInput("No rota for this specialism")  # a form the page never makes
    return code


def error_text(error: RotaError) -> str:
    return str(_(error.message, **error.params)) if error.params else str(_(error.message))


def _by_field(errors: list[RotaError]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error.field, []).append(error_text(error))
    return found


def _file_errors(errors: list[RotaError]) -> list[str]:
    """Each problem with the line (and the column or property) it is on, as a rota maker looks it up."""
    return [str(_("Line %(line)d, %(field)s: %(message)s", line=e.line, field=e.field, message=error_text(e)))
            if e.field else str(_("Line %(line)d: %(message)s", line=e.line, message=error_text(e))) for e in errors]


def when(moment: datetime) -> str:
    return str(format_datetime(moment, "EEE d MMM HH:mm"))


def _form_values(start: datetime, end: datetime) -> dict[str, str]:
    start, end = start.astimezone(AMSTERDAM), end.astimezone(AMSTERDAM)
    return {"start_date": f"{start:%Y-%m-%d}", "start_time": f"{start:%H:%M}", "end_date": f"{end:%Y-%m-%d}",
            "end_time": f"{end:%H:%M}"}


def _proposal(rows: list[Row], now: datetime) -> dict[str, str]:
    """The next shift a rota maker would add: from the end of the last one shown (or the next 08:00), a day."""
    shifts = [row for row in rows if row.shift is not None]
    if shifts:
        start = shifts[-1].ends_at.astimezone(AMSTERDAM)
    else:
        local = now.astimezone(AMSTERDAM)
        start = local.replace(hour=8, minute=0, second=0, microsecond=0)
        start = start if start > local else (start.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=AMSTERDAM)
    end = (start.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=AMSTERDAM)  # the same hour, also in DST
    return _form_values(start, end)


def _section(organisation: Organisation, code: str, now: datetime) -> Section:
    end = now + timedelta(days=WINDOW_DAYS)
    shifts = shifts_between(get_session(), organisation.id, code, now, end)
    rows = [Row(s.starts_at, s.ends_at, s, s.starts_at <= now < s.ends_at) for s in shifts]
    rows += [Row(start, stop, None, start <= now < stop) for start, stop in uncovered_periods(shifts, now, end)]
    rows.sort(key=lambda row: row.starts_at)
    return Section(code, specialism_label(code, str(get_locale())), rows,
                   next((row.shift for row in rows if row.current), None),
                   rota_specialists(get_session(), organisation.id, code), _proposal(rows, now))


def _rota_page(specialism: str | None = None, form_errors: dict[str, list[str]] | None = None,
               upload_errors: list[str] | None = None) -> Any:
    user, organisation = rota_access(write=False)
    now = clock()
    sections = [_section(organisation, code, now) for code in rota_specialisms(get_session(), organisation.id)]
    for section in sections:
        if section.code == specialism:
            if form_errors is not None:
                section.values = {key: request.form.get(key, "") for key in (*section.values, "on_call", "backup")}
                section.form_errors = form_errors
            section.upload_errors = upload_errors or []
    record(get_session(), inbox_actor(), event="web.rota.view", action=AuditAction.READ, resource_type="OnCallShift",
           detail=f"organisation={organisation.agb}; specialisms={','.join(s.code for s in sections)}", at=now)
    status = 400 if form_errors or upload_errors else 200
    if status == 400:
        get_session().commit()  # the page was shown, even though the form is refused
    return render_template("rota.html", organisation=organisation, sections=sections, may_edit=user.keeps_rota,
                           when=when, window_days=WINDOW_DAYS), status


def _back_to(specialism: str) -> WerkzeugResponse:
    return redirect(url_for("web.rota", _anchor=f"rooster-{specialism}"))


@bp.get("/inbox/rooster")
def rota() -> Any:
    return _rota_page()


@bp.post("/inbox/rooster/diensten")
def rota_add() -> Any:
    user, organisation = rota_access(write=True)
    specialism = _specialism(organisation)
    line, read_errors = read_form_shift(request.form)
    try:
        shift = add_shift(get_session(), inbox_actor(), organisation.id, specialism, line, user.id, read_errors)
    except RotaRefused as refused:
        get_session().rollback()
        return _rota_page(specialism, form_errors=_by_field(refused.errors))
    flash(_("Shift added: %(name)s is on call from %(start)s until %(end)s.", name=shift.practitioner.name,
            start=when(shift.starts_at), end=when(shift.ends_at)))
    return _back_to(specialism)


@bp.post("/inbox/rooster/bestand")
def rota_upload() -> Any:
    user, organisation = rota_access(write=True)
    specialism = _specialism(organisation)
    upload = request.files.get("file")
    data = upload.read(MAX_FILE_BYTES + 1) if upload is not None and upload.filename else b""
    if upload is None or not upload.filename:
        return _rota_page(specialism, upload_errors=[_("Choose a CSV or iCalendar (.ics) file.")])
    if len(data) > MAX_FILE_BYTES:
        return _rota_page(specialism, upload_errors=[_("The file is larger than 1 MB; a rota is much smaller. Is "
                                                       "it the right file?")])
    try:
        result = import_rota(get_session(), inbox_actor(), read_rota_file(upload.filename, data),
                             organisation_id=organisation.id, specialism=specialism, created_by=user.id)
    except RotaRefused as refused:
        get_session().rollback()
        return _rota_page(specialism, upload_errors=_file_errors(refused.errors))
    flash(_("The rota is read: %(count)d shifts from %(start)s until %(end)s; %(replaced)d earlier shifts of that "
            "period were replaced.", count=result.stored, start=when(result.starts_at), end=when(result.ends_at),
            replaced=result.replaced))
    return _back_to(specialism)


def _shift(organisation: Organisation, shift_id: str) -> OnCallShift:
    try:
        return get_shift(get_session(), organisation.id, shift_id)
    except NotFound:
        _refuse(404, _("This shift does not exist (any more). It may have been changed or replaced by an "
                       "upload."))


def _shift_page(shift_id: str, form_errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    organisation = rota_access(write=True)[1]
    shift = _shift(organisation, shift_id)
    before, after = neighbours(get_session(), shift)
    values = ({key: request.form.get(key, "") for key in ("start_date", "start_time", "end_date", "end_time",
                                                          "on_call", "backup")} if form_errors is not None else
              {**_form_values(shift.starts_at, shift.ends_at), "on_call": shift.practitioner.agb,
               "backup": shift.backup.agb})
    record(get_session(), inbox_actor(), event="web.rota.shift", action=AuditAction.READ, resource_type="OnCallShift",
           resource_id=shift.id, at=clock())
    if status >= 400:
        get_session().commit()
    return render_template("rota_shift.html", shift=shift, before=before, after=after, values=values,
                           errors=form_errors or {}, label=specialism_label(shift.specialism, str(get_locale())),
                           specialists=rota_specialists(get_session(), organisation.id, shift.specialism),
                           when=when, give_to=GIVE_TO), status


@bp.get("/inbox/rooster/diensten/<shift_id>")
def rota_shift(shift_id: str) -> Any:
    return _shift_page(shift_id)


@bp.post("/inbox/rooster/diensten/<shift_id>")
def rota_change(shift_id: str) -> Any:
    user, organisation = rota_access(write=True)
    specialism = _shift(organisation, shift_id).specialism
    line, read_errors = read_form_shift(request.form)
    try:
        change = change_shift(get_session(), inbox_actor(), organisation.id, shift_id, line, user.id, read_errors)
    except RotaRefused as refused:
        get_session().rollback()
        return _shift_page(shift_id, _by_field(refused.errors), 400)
    flash(_("Shift changed: %(name)s is on call from %(start)s until %(end)s.", name=change.shift.practitioner.name,
            start=when(change.shift.starts_at), end=when(change.shift.ends_at)))
    for moved in change.moved:
        flash(_("The shift of %(name)s moved along: now from %(start)s until %(end)s.", name=moved.practitioner.name,
                start=when(moved.starts_at), end=when(moved.ends_at)))
    return _back_to(specialism)


@bp.post("/inbox/rooster/diensten/<shift_id>/verwijderen")
def rota_delete(shift_id: str) -> Any:
    organisation = rota_access(write=True)[1]
    shift = _shift(organisation, shift_id)
    specialism, name, start, end = shift.specialism, shift.practitioner.name, shift.starts_at, shift.ends_at
    give_to = request.form.get("give_to") or None
    try:
        change = delete_shift(get_session(), inbox_actor(), organisation.id, shift_id, give_to)
    except RotaRefused as refused:
        get_session().rollback()
        return _shift_page(shift_id, _by_field(refused.errors), 400)
    flash(_("Shift deleted: %(name)s from %(start)s until %(end)s.", name=name, start=when(start), end=when(end)))
    for moved in change.moved:
        flash(_("The shift of %(name)s takes over its hours: now from %(start)s until %(end)s.",
                name=moved.practitioner.name, start=when(moved.starts_at), end=when(moved.ends_at)))
    return _back_to(specialism)
