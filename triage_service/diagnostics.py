"""What a failed request leaves for the operator: a request id on every response, and for every 500 a
traceback that can be diagnosed without holding patient data.

The request id is the ``X-Request-ID`` a client or load balancer sent (when it looks like an id) or a new
random one; it is sent back on every response and quoted in the 500's OperationOutcome, so a GP system's
support desk and our operator talk about the same log entry.

A traceback's exception *messages* may carry request data: a database error quotes the offending values
(PostgreSQL's "Key (value)=(...)", SQLAlchemy's "[parameters: ...]"), ``int("...")`` quotes its input. So
the logged traceback keeps what locates the bug (the chain of exception types, every frame with its code
line, the SQL statement with its placeholders, the database's error code and constraint) and drops every
message. It is logged as text, without ``exc_info``, so no handler's formatter adds the messages back.
"""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g, has_request_context, request

log = logging.getLogger("triage_service.errors")

REQUEST_ID_HEADER = "X-Request-ID"
#: A client's own id is kept when it could not carry anything but an id (and cannot forge a log line).
_CLIENT_ID = re.compile(r"[A-Za-z0-9._\-]{8,64}")
#: SQLite's constraint and locking messages name columns or nothing, never values; these are safe to keep.
_SAFE_SQLITE_MESSAGE = re.compile(r"(UNIQUE|NOT NULL|FOREIGN KEY|CHECK) constraint failed[\w\s.,]*|"
                                  r"database (table )?is locked|disk I/O error|unable to open database file")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id() -> str:
    """This request's id (made on first use); ``-`` outside a request."""
    if not has_request_context():
        return "-"
    if "request_id" not in g:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = sent if _CLIENT_ID.fullmatch(sent) else new_request_id()
    return str(g.request_id)


class TriageFlask(Flask):
    """Flask logs an exception that escapes every error handler (one raised inside a handler) with
    ``exc_info``, messages and all; ours is logged like any other 500."""

    def log_exception(self, exc_info: Any) -> None:
        if exc_info[1] is not None:
            log_unexpected(exc_info[1], "error inside an error handler:")


def init_app(app: Flask) -> None:
    @app.after_request
    def _send_request_id(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = request_id()
        return response


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def _describe(exc: BaseException) -> str:
    """The exception's type and what a database error safely says about itself."""
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    facts = []
    statement = getattr(exc, "statement", None)
    if isinstance(statement, str):
        facts.append("statement: " + " ".join(statement.split())[:400])
    orig = getattr(exc, "orig", None)
    for cause in (exc, orig):
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str):
            facts.append(f"sqlstate {sqlstate}")
        diag = getattr(cause, "diag", None)
        for field in ("table_name", "column_name", "constraint_name"):
            value = getattr(diag, field, None)
            if isinstance(value, str):
                facts.append(f"{field} {value}")
        if type(cause).__module__ == "sqlite3" and (match := _SAFE_SQLITE_MESSAGE.match(str(cause))):
            facts.append(match.group(0).strip())
    return name + "".join(f"\n  ({fact})" for fact in facts)


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and its causes, oldest first as Python prints it, without messages."""
    parts = []
    for number, link in enumerate(reversed(list(_chain(exc)))):
        if number:
            parts.append("\nwhich led to:\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.extract_tb(link.__traceback__).format())
        parts.append(_describe(link) + "  [message withheld: it may hold request data]\n")
    return "".join(parts)


def log_unexpected(exc: BaseException, what: str = "unhandled error") -> str:
    """Log a 500 with its request id and safe traceback; returns the request id to quote to the client."""
    rid = request_id()
    where = f"{request.method} {request.endpoint or '(no endpoint)'}" if has_request_context() else "-"
    log.error("%s %s on %s [request %s]\n%s", what, type(exc).__name__, where, rid, safe_traceback(exc))
    return rid
