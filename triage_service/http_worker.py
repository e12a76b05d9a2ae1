"""gunicorn's worker, answering the requests gunicorn refuses itself the way the application answers.

gunicorn parses the request line and headers before the application sees anything, and refuses what it
cannot parse or what exceeds its limits (an over-long request line, too many or too large headers, a bad
header name or value, a malformed chunked body) with its own small HTML page: no security headers, not an
OperationOutcome, and quoting the offending input back. This worker writes an OperationOutcome instead
(FHIR.md "Errors": every error body is one), with the security headers of security/headers.py and a
request id, and logs only the kind of refusal (the raw line may hold search values). The HTTP status is
the one gunicorn chooses, except 400 rather than 501 for an unknown transfer coding. Used by
``config/gunicorn.conf.py``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from gunicorn.http import errors
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.sync import SyncWorker

from triage_service import clock
from triage_service.diagnostics import REQUEST_ID_HEADER, new_request_id, safe_traceback
from triage_service.security.headers import security_headers

#: (status, issue code, what the client should know) per kind of refusal; the first match counts.
_REFUSALS: list[tuple[tuple[type[BaseException], ...], int, str, str]] = [
    ((errors.LimitRequestLine,), 414, "too-costly",
     "The request line (method, path and query) is longer than the {limit_request_line} bytes this server "
     "accepts; shorten the URL"),
    ((errors.LimitRequestHeaders,), 431, "too-costly",
     "The request headers are too many or too large (at most {limit_request_fields} headers of "
     "{limit_request_field_size} bytes each)"),
    ((errors.InvalidHeader, errors.InvalidHeaderName, errors.ObsoleteFolding), 400, "structure",
     "A request header has an invalid name or value (RFC 9110 section 5.5: no control characters, no "
     "line folding)"),
    ((errors.InvalidRequestLine, errors.InvalidRequestMethod, errors.InvalidHTTPVersion), 400, "structure",
     "The request line is not valid HTTP/1.1: send METHOD /path HTTP/1.1"),
    ((errors.InvalidChunkSize, errors.ChunkMissingTerminator, errors.InvalidChunkExtension), 400, "structure",
     "The chunked request body is malformed"),
    # RFC 9112 section 6.1 suggests 501, but the coding is the client's to fix and a 5xx reads as our
    # fault to monitoring (and the bar is no answer of 500 or more): a 400 that says what to send.
    ((errors.UnsupportedTransferCoding,), 400, "not-supported",
     "Only the chunked Transfer-Encoding is supported"),
    ((errors.ExpectationFailed,), 417, "not-supported", "Only 'Expect: 100-continue' is supported"),
    ((errors.ForbiddenProxyRequest,), 403, "forbidden", "This address may not send PROXY protocol headers"),
    ((errors.InvalidProxyLine, errors.InvalidSchemeHeaders), 400, "structure",
     "The proxy or forwarding headers are invalid"),
]


def error_response(status: int, code: str, diagnostics: str, request_id: str, is_production: bool) -> bytes:
    """A complete HTTP/1.1 response carrying an OperationOutcome; the connection is closed after it."""
    body = json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": code, "diagnostics": diagnostics}]}, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/fhir+json; charset=utf-8", "Content-Length": str(len(body)),
               "Connection": "close", REQUEST_ID_HEADER: request_id, **security_headers(is_production)}
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


class OutcomeErrors:
    """Mixed into a gunicorn worker class: replaces its ``handle_error``."""

    cfg: Any
    log: Any
    wsgi: Any

    def _is_production(self) -> bool:
        settings = getattr(self.wsgi, "extensions", {}).get("triage.settings")
        return bool(getattr(settings, "is_production", True))  # unknown: the stricter headers

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        started = clock.monotonic()
        request_id = new_request_id()
        refusal = next(((status, code, text) for kinds, status, code, text in _REFUSALS if isinstance(exc, kinds)),
                       None)
        if refusal is not None:
            status, code, text = refusal
            diagnostics = text.format(limit_request_line=self.cfg.limit_request_line,
                                      limit_request_fields=self.cfg.limit_request_fields,
                                      limit_request_field_size=self.cfg.limit_request_field_size)
            # The kind only: gunicorn's message quotes the raw line or header, which may hold search values.
            self.log.warning("refused request from ip=%s: %s [request %s]", (addr or ("",))[0],
                             type(exc).__name__, request_id)
        else:
            status, code = 500, "exception"
            diagnostics = f"An internal error occurred; it has been logged under request id {request_id}"
            self.log.error("error handling a request [request %s]\n%s", request_id, safe_traceback(exc))
        if req is None and isinstance(exc, errors.InvalidHeader | errors.InvalidHeaderName):
            req = getattr(exc, "req", None)  # gunicorn attaches the request to these (elsewhere: the raw line)
        if req is not None and hasattr(req, "body"):
            try:
                # As gunicorn's own handle_error: the refusal appears in the access log like any request.
                environ = default_environ(req, client, self.cfg)
                response = Response(req, client, self.cfg)
                response.status = f"{status} {HTTPStatus(status).phrase}"
                response.headers = [(REQUEST_ID_HEADER, request_id)]
                self.log.access(response, req, environ, timedelta(seconds=clock.monotonic() - started))
            except Exception:  # a half-parsed request must not cost the client its answer
                self.log.warning("could not write the access log line of request %s", request_id)
        try:
            client.sendall(error_response(status, code, diagnostics, request_id, self._is_production()))
        except OSError:
            self.log.debug("could not send the refusal: the client has gone")


class OutcomeSyncWorker(OutcomeErrors, SyncWorker):  # type: ignore[misc]  # gunicorn ships no type information
    """gunicorn's sync worker (config/gunicorn.conf.py's worker_class) with OperationOutcome refusals."""
