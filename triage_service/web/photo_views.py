"""The specialist's photo viewer: a page per photo for browsers without script, and the script's CSP.

On the consult page each thumbnail links to this page (web.photo_page); the viewer script
(static/photo-viewer.js) opens the photo in a full-screen dialog instead, so this page is what a browser
without script, or a link opened in a new tab, shows: the full-size photo with a way back to the consult and
to the previous and next photo. The image itself is always web.photo, which is audited and never cached.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, render_template
from flask_babel import get_locale

from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.models import AuditAction
from triage_service.request_context import clock
from triage_service.security.headers import allow_own_scripts
from triage_service.web import inbox as queries
from triage_service.web.views import bp, current_user, inbox_actor


@bp.get("/consults/<consult_id>/photos/<attachment_id>/bekijken")
def photo_page(consult_id: str, attachment_id: str) -> Any:
    """One photo of the consult at full size, with the previous and next photo and the way back."""
    detail = queries.consult_detail(get_session(), current_user(), consult_id, str(get_locale()))
    photos = [p for p in detail.photos if p.is_image] if detail is not None else []
    index = next((i for i, p in enumerate(photos) if p.id == attachment_id), None)
    if detail is None or index is None:
        abort(404)
    # The page names the photo; the image it shows is audited again as a full view when the browser fetches it.
    record(get_session(), inbox_actor(), event="web.photo.page", action=AuditAction.READ, resource_type="Binary",
           resource_id=attachment_id, patient_ref=detail.patient_ref, detail=detail.access_basis, at=clock())
    number = [i for i, p in enumerate(detail.photos, start=1) if p.is_image][index]
    return render_template("photo.html", c=detail, photo=photos[index], number=number, index=index + 1,
                           total=len(photos), previous=photos[index - 1] if index else None,
                           following=photos[index + 1] if index + 1 < len(photos) else None)


@bp.app_context_processor
def _photo_viewer_globals() -> dict[str, Any]:
    return {"uses_photo_viewer": uses_photo_viewer}


def uses_photo_viewer() -> str:
    """Called by the viewer's template as it is drawn: the page loads static/photo-viewer.js, so its
    Content-Security-Policy allows our own script files. A page that already allows more (the portal's photo
    previews) keeps that; nothing is written into the page."""
    if not g.get("page_scripts"):
        allow_own_scripts()
    return ""
