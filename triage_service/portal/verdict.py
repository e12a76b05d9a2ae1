"""The GP's verdict on the advice from the portal (issue 22): three questions on the consult page once the advice
is there, one submit. The rule is consults/verdicts.py's, the one a GP system's QuestionnaireResponse meets.

Nothing is preselected: a default answer would be counted as the GP's when it was only not changed, and these
answers decide what the region reports as prevented referrals.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from triage_service.consults import practice, verdicts
from triage_service.database import get_session
from triage_service.errors import Conflict, FormErrors
from triage_service.fhir.verdict import STILL_NEEDED, USEFUL, WITHOUT
from triage_service.portal.views import bp, consult_page, current_user
from triage_service.request_context import clock

#: The yes/no radio buttons' values.
_YES_NO = {"yes": True, "no": False}


def form_answers(form: Any) -> dict[str, object]:
    """The form's fields (named after the questionnaire's linkIds) as the domain's answers; anything else is left
    out, so the domain names it as missing."""
    return {USEFUL: _YES_NO.get(form.get(USEFUL, "")), WITHOUT: form.get(WITHOUT) or None,
            STILL_NEEDED: _YES_NO.get(form.get(STILL_NEEDED, ""))}


@bp.post("/consults/<consult_id>/oordeel")
def give_verdict(consult_id: str) -> Any:
    user = current_user()
    practice.require_gp(user)  # the GP judges the advice; the assistant prepares, does not decide
    consult = practice.consult_of_practice(get_session(), user, consult_id)
    try:
        verdicts.give_verdict(get_session(), practice.practice_actor(user, request.remote_addr),
                              consult.organisation_id, consult.id, form_answers(request.form), source="portal",
                              answered_by=user.id, now=clock())
    except FormErrors as refused:
        get_session().rollback()
        return consult_page(consult_id, {k: _(v) for k, v in refused.errors.items()}, 400)
    except Conflict as refused:
        get_session().rollback()
        return consult_page(consult_id, {"verdict": _(refused.template)}, 409)
    flash(_("Thank you, your verdict has been saved."))
    return redirect(url_for("portal.consult", consult_id=consult_id, _anchor="oordeel"))
