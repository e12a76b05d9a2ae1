"""Domain errors and HTTP errors as OperationOutcome, once for the whole FHIR API.

A 500 is always a bug: it is logged with the exception type and endpoint only
(never the body, which holds patient data) and answered with an
OperationOutcome that reveals nothing internal.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from triage_service.api.ids import RESOURCE_TYPE, is_fhir_id
from triage_service.api.io import fhir_response
from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.diagnostics import log_unexpected, request_id
from triage_service.encryption.envelope import DecryptionError
from triage_service.errors import N_, DomainError, InvalidId, InvalidInput, PreconditionFailed, Unauthorized
from triage_service.models import AuditAction, AuditOutcome
from triage_service.outcome import Issue, operation_outcome
from triage_service.request_context import clock
from triage_service.security.api_auth import OAuthError
from triage_service.security.policy import request_actor

log = logging.getLogger(__name__)

_HTTP_ISSUE_CODES = {404: "not-found", 405: "not-supported", 406: "not-supported", 413: "too-costly",
                     415: "not-supported", 429: "throttled"}


#: The API's sentence for an HTTP error without a domain exception behind it (templates: outcome.py).
_HTTP_MESSAGES = {
    404: N_("No such endpoint or resource type: %(method)s %(path)s"),
    405: N_("%(method)s is not supported on %(path)s"),
    429: N_("Too many requests (at most %(limit)s); wait a moment and try again"),
}
_INTERNAL_ERROR = N_("An internal error occurred; it has been logged under request id %(rid)s. Nothing was stored.")


#: Refused access is what an auditor looks for (NEN 7513): 401, 403 and 404 are recorded.
_REFUSALS = frozenset({401, 403, 404})


def _audit_refusal(exc: DomainError) -> None:
    """Record a refused request in its own transaction: the request's own work is rolled back.

    The path is the client's: only a well-formed type and id are recorded as such, and the rest only
    escaped and cut to size in ``detail``, so no URL can make the audit row itself fail (PostgreSQL
    refuses NUL and over-long values) and lose the record of the refusal.
    """
    session = get_session()
    session.rollback()
    parts = request.path.removeprefix("/fhir/").split("/")
    resource_type = parts[0] if parts and RESOURCE_TYPE.fullmatch(parts[0]) else None
    resource_id = parts[1] if len(parts) > 1 and is_fhir_id(parts[1]) else None
    try:
        record(session, request_actor(), event=f"fhir.refused.{exc.status_code}", action=_ACTIONS.get(
               request.method, AuditAction.EXECUTE), outcome=AuditOutcome.MINOR_FAILURE,
               resource_type=resource_type, resource_id=resource_id,
               detail=_printable(f"{request.method} {request.path}")[:200], at=clock())
        session.commit()
    except SQLAlchemyError as failure:
        # The refusal still reaches the client; the lost audit row is an error an operator must see.
        session.rollback()
        log_unexpected(failure, "audit entry of a refused request not written:")


def _printable(text: str) -> str:
    """Control characters (NUL above all) as visible escapes: a Text column must not receive them."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


_ACTIONS = {"GET": AuditAction.READ, "POST": AuditAction.CREATE, "PUT": AuditAction.UPDATE,
            "DELETE": AuditAction.DELETE}


def _is_broken_body(exc: Exception) -> bool:
    """gunicorn raises its parse errors from ``wsgi.input`` when a view reads a malformed chunked body or a
    body cut short: the client's fault, found only when the body is read. Matched by module, so the app
    does not depend on the server it runs under; a server-side ConfigurationProblem (code 500) is a 500."""
    return type(exc).__module__ == "gunicorn.http.errors" and getattr(exc, "code", 400) < 500


#: Refusals whose domain message is written for the person who acted (who may not do this, what conflicts):
#: shown on the error page. A 404's or 400's message names API ids and parameters; the page says it in words.
_REASONS_SHOWN = (403, 409, 422)


def _web_error(status: int, reason: str | None = None) -> Response:
    """The inbox answers errors with a page in the user's language, never a stack trace."""
    from flask import render_template

    return Response(render_template("error.html", status=status, reason=reason), status=status,
                    mimetype="text/html")


def _screen() -> bool:
    """A request for a page (inbox, portal, the patient's page), also when no route matched it (a 404 or 405
    has no blueprint): people get an error page in their language, not FHIR JSON."""
    return request.blueprint in ("web", "portal", "patient") or (
        request.blueprint is None and request.path.startswith(("/huisarts/", "/foto/")))


def _report_error(status: int, message: str, field: str | None = None) -> Response:
    """The reports API speaks plain JSON: ``{"error": ..., "errors": {field: [...]}}``."""
    body: dict[str, object] = {"error": message}
    if field:
        body["errors"] = {field: [message]}
    response = jsonify(body)
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        if _screen():
            return _web_error(exc.status_code, exc.text() if exc.status_code in _REASONS_SHOWN else None)
        if request.blueprint == "reports":
            if exc.status_code in _REFUSALS:
                _audit_refusal(exc)
            return _report_error(exc.status_code, exc.message, exc.expression)
        if exc.status_code in _REFUSALS or isinstance(exc, InvalidId):
            _audit_refusal(exc)
        response = fhir_response(operation_outcome(exc.issues), exc.status_code)
        if isinstance(exc, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> Response:
        # Optimistic locking lost a race (it may surface at any flush, not only the explicit one).
        return _domain_error(PreconditionFailed(N_("The resource was changed by another request at the same "
                                                   "moment: read it again and retry with the current ETag")))

    @app.errorhandler(DecryptionError)
    def _integrity(exc: DecryptionError) -> Response:
        # Not the client's fault and not an ordinary bug: stored data was altered or its key is
        # missing. Logged as such (without content) for the security officer.
        log.critical("integrity failure of stored data on %s %s: %s", request.method, request.path, exc)
        rid = log_unexpected(exc, "integrity failure:")
        issue = Issue("exception", N_("The stored file failed its integrity check; the incident has been logged "
                                      "under request id %(rid)s"), params={"rid": rid})
        return fhir_response(operation_outcome([issue]), 500)

    @app.errorhandler(OAuthError)
    def _oauth_error(exc: OAuthError) -> Response:
        response = jsonify(exc.body())
        response.status_code = exc.status
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 429 and request.blueprint == "oauth":
            wait = gettext("Too many token requests from this address; wait a minute")
            response = jsonify({"error": "too_many_requests", "error_description": wait})
            response.status_code = 429
            response.headers["Retry-After"] = "60"
            return response
        if _screen():
            return _web_error(status)  # werkzeug's description is English and says nothing to a user
        if request.blueprint == "reports":
            return _report_error(status, exc.description or exc.name)
        params: dict[str, object] = {"method": request.method, "path": request.path,
                                     "limit": exc.description or exc.name}
        if status >= 500:
            # Flask's answer when an error handler itself failed (logged by diagnostics.TriageFlask).
            message, params = _INTERNAL_ERROR, {"rid": request_id()}
        elif isinstance(exc, RequestEntityTooLarge):
            message = N_("The body is larger than the service accepts")
        elif status in _HTTP_MESSAGES:
            message = _HTTP_MESSAGES[status]
        else:
            # Werkzeug's own English description of a status we have no sentence for.
            message, params = "%(text)s", {"text": exc.description or exc.name}
        issue = Issue(_HTTP_ISSUE_CODES.get(status, "processing"), message, params=params)
        response = fhir_response(operation_outcome([issue]), status)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if _is_broken_body(exc):
            return _domain_error(InvalidInput(N_("The request body could not be read: its chunked encoding is "
                                                 "malformed, or it ended before its announced length")))
        # A 500 is a bug: its traceback (without messages, which may hold patient data) and request id
        # go to the log, and the client gets the request id to quote.
        rid = log_unexpected(exc)
        if _screen():
            return _web_error(500)
        if request.blueprint == "reports":
            return _report_error(500, _INTERNAL_ERROR % {"rid": rid})
        return fhir_response(operation_outcome([Issue("exception", _INTERNAL_ERROR, params={"rid": rid})]), 500)
