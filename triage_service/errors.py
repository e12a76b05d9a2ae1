"""Domain exceptions, raised by services and translated once per interface.

The FHIR API turns them into an OperationOutcome with the matching HTTP status
(ARCHITECTURE.md, principle 5). Messages are written for the person who has to
fix the request and never contain patient data.
"""

from __future__ import annotations

from collections.abc import Mapping

from triage_service.outcome import Issue, Message


class ConfigurationError(RuntimeError):
    """The service cannot start with these settings."""


class DomainError(Exception):
    """Base class: a request the service understood but will not carry out.

    ``message`` is an English template marked with ``N_`` and ``params`` its values (outcome.py): the FHIR
    API puts it into the request's language when it answers. ``.message`` is the English sentence (logs,
    the CLI); ``.text()`` the sentence in the current locale.
    """

    status_code = 400
    issue_code = "invalid"

    def __init__(self, message: str, *, expression: str | None = None, issues: list[Issue] | None = None,
                 params: Mapping[str, object] | None = None):
        self.template = message
        self.params: Mapping[str, object] = params or {}
        self.message = Message(message, self.params).english()
        super().__init__(self.message)
        self.expression = expression
        self._issues = issues

    def text(self) -> str:
        return Message(self.template, self.params).render()

    @property
    def issues(self) -> list[Issue]:
        if self._issues:
            return self._issues
        return [Issue(self.issue_code, self.template, self.expression, params=self.params)]


class InvalidInput(DomainError):
    """Unparseable or structurally wrong input (HTTP 400)."""


class InvalidId(InvalidInput):
    """A URL whose id cannot be a FHIR id (HTTP 400): refused before any query, and audited like a 404."""

    issue_code = "value"


class UnprocessableInput(DomainError):
    """Valid FHIR that breaks a profile or agreement rule (HTTP 422)."""

    status_code = 422
    issue_code = "business-rule"


class NotFound(DomainError):
    status_code = 404
    issue_code = "not-found"


class Forbidden(DomainError):
    status_code = 403
    issue_code = "forbidden"


class Unauthorized(DomainError):
    status_code = 401
    issue_code = "login"


class Conflict(DomainError):
    status_code = 409
    issue_code = "conflict"


class PreconditionFailed(DomainError):
    """A stale ``If-Match`` version (HTTP 412)."""

    status_code = 412
    issue_code = "conflict"


class InvalidTransition(Conflict):
    """A Task status change that FHIR.md's state machine does not allow."""


class NotSupported(DomainError):
    status_code = 400
    issue_code = "not-supported"


class PayloadTooLarge(DomainError):
    status_code = 413
    issue_code = "too-costly"


class NotAcceptable(DomainError):
    """The client accepts no format we can send (HTTP 406); we speak FHIR JSON only."""

    status_code = 406
    issue_code = "not-supported"


class UnsupportedMediaType(DomainError):
    status_code = 415
    issue_code = "not-supported"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Marks a message for translation (the inbox translates it when showing it); returns it unchanged."""
    return message



class FormErrors(UnprocessableInput):
    """Field-level errors a form can show next to its fields."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()),
                         issues=[Issue("required", message, field) for field, message in errors.items()])
        self.errors = errors
