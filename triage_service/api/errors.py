"""Domain errors and HTTP errors as OperationOutcome, once for the whole FHIR API.

A 500 is always a bug: it is logged with the exception type and endpoint only
(never the body, which holds patient data) and answered with an
OperationOutcome that reveals nothing internal.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from triage_service.api.io import fhir_response
from triage_service.errors import DomainError, Unauthorized
from triage_service.fhir.outcome import Issue, operation_outcome
from triage_service.security.api_auth import OAuthError

log = logging.getLogger(__name__)

_HTTP_ISSUE_CODES = {404: "not-found", 405: "not-supported", 406: "not-supported", 413: "too-costly",
                     415: "not-supported"}


def _is_fhir_request() -> bool:
    return request.path.startswith("/fhir") or request.path.startswith("/.well-known")


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        response = fhir_response(operation_outcome(exc.issues), exc.status_code)
        if isinstance(exc, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    @app.errorhandler(OAuthError)
    def _oauth_error(exc: OAuthError) -> Response:
        response = jsonify(exc.body())
        response.status_code = exc.status
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if isinstance(exc, RequestEntityTooLarge):
            message = "The body is larger than the service accepts"
        elif status == 404:
            message = f"No such endpoint or resource type: {request.method} {request.path}"
        elif status == 405:
            message = f"{request.method} is not supported on {request.path}"
        else:
            message = exc.description or exc.name
        issue = Issue(code=_HTTP_ISSUE_CODES.get(status, "processing"), diagnostics=message)
        response = fhir_response(operation_outcome([issue]), status)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.endpoint)
        log.debug("traceback", exc_info=exc)
        issue = Issue(code="exception", diagnostics="An internal error occurred; it has been logged. "
                                                     "Nothing was stored.")
        return fhir_response(operation_outcome([issue]), 500)
