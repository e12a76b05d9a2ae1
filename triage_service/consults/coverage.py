"""Whether the agreements admit a draft, and if not, which field of the portal's form is why.

The intake refuses a consult no patient profile admits with an explanation in English sentences meant for a
GP system's log. The portal wants each reason beside its own field, in the GP's language. So before sending
it asks routing's own matching (the same compiled table and the same ``mismatches``) and returns, for the
profile that comes closest, each dimension that did not fit with the figures the GP needs to correct it; the
portal words them. The rule stays routing's: nothing here decides what is admitted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy.orm import Session

from triage_service.fhir import dutch
from triage_service.models import ConsultDraft, Organisation
from triage_service.routing.matching import Mismatch, RoutingRequest
from triage_service.routing.service import age_on, routing_table
from triage_service.routing.working_time import AMSTERDAM

#: Which form field each routing dimension concerns.
FIELD_OF_DIMENSION = {"category": "category", "validity": "", "insurer": "insurer", "form": "consult_form",
                      "icpc": "icpc", "age": "birth_date", "sex": "sex", "region": "postcode", "photos": "files",
                      "performer": "", "requester": "", "priority": "urgency", "hours": "urgency"}


@dataclass(frozen=True)
class Problem:
    field: str
    dimension: str
    #: What the closest profile admits: codes, age band, photo count, forms (for the portal's words).
    figures: dict[str, str] = dataclasses.field(default_factory=dict)


def routing_request(draft: ConsultDraft, requester: Organisation, now: datetime) -> RoutingRequest | None:
    """The draft as routing sees it, sent now by ``requester``; None while the fields routing needs are missing
    or malformed."""
    local = now.astimezone(AMSTERDAM)
    today = local.date()
    form = draft.form
    try:
        birth = date.fromisoformat(form.get("birth_date", ""))
    except ValueError:
        return None
    if not (form.get("specialism") and form.get("consult_form") and form.get("icpc") and form.get("insurer")):
        return None
    photos = sum(1 for f in draft.files if str(f.get("content_type", "")).startswith("image/"))
    return RoutingRequest(specialism=form["specialism"], icpc_codes=(form["icpc"].upper(),), age=age_on(birth, today),
                          sex=form.get("sex", ""), postcode=dutch.postcode_digits(form.get("postcode") or None),
                          insurer=form["insurer"], form=form["consult_form"], photo_count=photos, on=today,
                          category=form.get("category") or "meekijkconsult", requester_kind=requester.kind.value,
                          requester_agb=requester.agb, priority=form.get("urgency") or "routine",
                          sent_at=local.time().replace(tzinfo=None))


def coverage_problems(session: Session, draft: ConsultDraft, requester: Organisation,
                      now: datetime) -> list[Problem]:
    """Empty when some profile admits the draft (as a meekijkconsult, or as a likely referral, which the
    intake accepts with a flag); otherwise what the closest profiles lack, one problem per field."""
    request = routing_request(draft, requester, now)
    if request is None:
        return []  # the intake's own field checks answer first
    table = routing_table(session)
    result = table.match(request)
    if result.matches or (request.category == "meekijkconsult"
                          and table.match(replace(request, category="referral")).matches):
        return []
    near = result.near_misses
    if not near:
        return [Problem("consult_form", "specialism")]
    # The GP chose the consult form and the kind of request on purpose: profiles of that form and kind come
    # first, so a missing photo is not also reported as "this form is not agreed" by a profile of another form.
    def distance(reasons: list[Mismatch]) -> tuple[bool, int]:
        return any(r.dimension in ("form", "category") for r in reasons), len(reasons)

    closest = min(distance(reasons) for _, reasons in near)
    problems: dict[str, Problem] = {}
    for profile, reasons in near:
        if distance(reasons) != closest:
            continue
        for reason in reasons:
            figures = {"codes": ", ".join(sorted(profile.icpc_chapters | profile.icpc_codes)),
                       "low": str(profile.min_age if profile.min_age is not None else 0),
                       "high": str(profile.max_age if profile.max_age is not None else "…"),
                       "photos": str(profile.min_photos), "profile": profile.profile_name}
            name = FIELD_OF_DIMENSION.get(reason.dimension, "")
            problems.setdefault(name, Problem(name, reason.dimension, figures))
    # Another consult form may admit this patient as entered (a child: an intercollegial consult, not an
    # e-consult): say which, beside the form, so the GP need not guess. Only when it is the patient that does
    # not fit: a missing photo is fixed by adding one, not by choosing another form.
    fitting = sorted({form for profile in table.by_specialism.get(request.specialism, []) for form in profile.forms
                      if form != request.form and table.match(replace(request, form=form)).matches})
    about_patient = any(p.dimension in ("age", "sex", "region", "icpc") for p in problems.values())
    if fitting and about_patient and "consult_form" not in problems:
        problems["consult_form"] = Problem("consult_form", "other-form", {"forms": ",".join(fitting)})
    return list(problems.values())
