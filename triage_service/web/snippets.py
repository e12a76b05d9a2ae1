"""The specialist's text snippets page (/inbox/tekstblokken) and the consult letter in the inbox.

Snippets: add, change and delete on one page; a refused form opens the page again with the error beside the
field (400) and nothing stored. The letter: the PDF made when the consult was concluded, downloaded from
the consult page's "what was sent" (audited under the patient, NEN 7513, never cached).
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from triage_service.accounts import snippets as domain
from triage_service.consults import letters
from triage_service.database import get_session
from triage_service.errors import FormErrors
from triage_service.models import Consult
from triage_service.request_context import clock
from triage_service.security.headers import never_cached
from triage_service.web import inbox as queries
from triage_service.web.views import bp, current_user, inbox_actor


def _page(errors: dict[str, str] | None = None, open_form: str | None = None, status: int = 200) -> Any:
    return render_template("snippets.html", snippets=domain.snippets_of(get_session(), current_user().id),
                           errors=errors or {}, open_form=open_form, values=request.form), status


def _refused(refused: FormErrors, open_form: str) -> Any:
    get_session().rollback()
    return _page({field: _(message) for field, message in refused.errors.items()}, open_form, 400)


@bp.get("/inbox/tekstblokken")
def snippets() -> Any:
    return _page()


@bp.post("/inbox/tekstblokken")
def add_snippet() -> Any:
    try:
        added = domain.add_snippet(get_session(), current_user().id, domain.parse_snippet(dict(request.form)),
                                   clock())
    except FormErrors as refused:
        return _refused(refused, "new")
    flash(_("Snippet \"%(title)s\" added. It is offered above the advice field of every consult.",
            title=added.title))
    return redirect(url_for("web.snippets"))


@bp.post("/inbox/tekstblokken/<snippet_id>")
def change_snippet(snippet_id: str) -> Any:
    try:
        domain.change_snippet(get_session(), current_user().id, snippet_id, dict(request.form), clock())
    except FormErrors as refused:
        return _refused(refused, snippet_id)
    flash(_("Snippet saved."))
    return redirect(url_for("web.snippets"))


@bp.post("/inbox/tekstblokken/<snippet_id>/verwijderen")
def delete_snippet(snippet_id: str) -> WerkzeugResponse:
    title = domain.delete_snippet(get_session(), current_user().id, snippet_id)
    flash(_("Snippet \"%(title)s\" deleted.", title=title))
    return redirect(url_for("web.snippets"))


@bp.get("/consults/<consult_id>/brief/<document_id>")
def consult_letter(consult_id: str, document_id: str) -> Response:
    """The consult letter as the GP's record receives it: what the specialist sent, to check or keep."""
    session = get_session()
    if queries.consult_detail(session, current_user(), consult_id) is None:
        abort(404)
    consult = session.get(Consult, consult_id)
    assert consult is not None  # consult_detail found it
    _, attachment = letters.read_letter(session, inbox_actor(), consult, document_id, clock())
    data = letters.letter_bytes(session, attachment)
    session.commit()  # the read is audited even if the download is broken off
    response = never_cached(Response(data, mimetype="application/pdf"))
    # A generated name: nothing about the patient in a header or in the browser's download list.
    response.headers["Content-Disposition"] = f'attachment; filename="consultverslag-{consult_id[:8]}.pdf"'
    return response
