"""OperationOutcome issues: the one shape every validation layer reports in.

Every check (structure, FHIR model, profile, business rule) returns a list of
:class:`Issue`; the API turns them into one OperationOutcome. Keeping one shape
means a GP system sees every problem of a request at once, each with an
``expression`` (FHIRPath-style, e.g. ``ServiceRequest.reasonCode[0]``) pointing
at the element, as FHIR.md "Errors" asks.

Language (issue 21): the API answers in Dutch, or in English on ``Accept-Language: en``. An issue
therefore carries its sentence as an English *template* (marked with ``N_`` so Babel extracts it into
the shared catalogue, triage_service/web/translations) plus its parameters, and is put into words only
when the OperationOutcome is built, in the request's language (web.select_locale). Why not translate
where the issue is made: the validators also run outside a request (the CLI, the inbox's preview, tests)
and the same issue may be shown to a specialist in the inbox in their own language. Parameters hold only
element names, codes, counts and ids, never patient data; element paths (``expression``) and codes are
never translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from flask import has_request_context, request
from flask_babel import force_locale, get_locale, gettext, ngettext

Severity = Literal["fatal", "error", "warning", "information"]

#: The languages the API speaks; the first is the default.
LANGUAGES = ("nl", "en")


@runtime_checkable
class Phrase(Protocol):
    """A parameter that is itself put into words in the reader's language (a Message, a Localized, ...)."""

    def render(self) -> str: ...

    def english(self) -> str: ...


@dataclass(frozen=True)
class Localized:
    """A parameter that exists per language outside the catalogue (e.g. a code's display from the
    terminology), by language code; English is always there."""

    texts: Mapping[str, str] = field(hash=False)

    def render(self) -> str:
        locale = get_locale()
        return self.texts.get(locale.language if locale else "en") or self.texts["en"]

    def english(self) -> str:
        return self.texts["en"]


@dataclass(frozen=True)
class Message:
    """A sentence to be put into words later, in the reader's language.

    ``template`` is the English msgid with ``%(name)s`` placeholders; a parameter may itself be a
    Phrase (rendered in the same language). With ``plural``, the count is ``params["num"]`` (Babel extracts
    plurals only from ``ngettext`` calls: a plural in the catalogue is best a Phrase of its own that calls it).
    """

    template: str
    params: Mapping[str, object] = field(default_factory=dict, hash=False)
    plural: str | None = None

    def render(self) -> str:
        """In the current locale (Flask-Babel's), or in English outside an application context."""
        values = {k: v.render() if isinstance(v, Phrase) else v for k, v in self.params.items()}
        if self.plural is not None:
            return str(ngettext(self.template, self.plural, int(values.pop("num")), **values))  # type: ignore[call-overload]
        return str(gettext(self.template, **values)) if values else str(gettext(self.template))

    def english(self) -> str:
        """The sentence without the catalogue: for logs, the CLI and texts stored as written."""
        values = {k: v.english() if isinstance(v, Phrase) else v for k, v in self.params.items()}
        template = self.template if self.plural is None or values.get("num") == 1 else self.plural
        return template % values if values else template

    def translations(self) -> dict[str, str]:
        """The sentence in every language the API speaks, by language code."""
        rendered = {}
        for language in LANGUAGES:
            with force_locale(language):
                rendered[language] = self.render()
        return rendered


def message(template: str, **params: object) -> Message:
    return Message(template, params)


def api_language() -> str | None:
    """The FHIR API's language for this request, or None when it is not an API request.

    Dutch unless the ``Accept-Language`` header's best match among the languages we speak is English: a GP
    system that sends nothing, ``*`` or a language we do not speak gets Dutch. web.select_locale asks this
    first, so everything the API puts into words in a request (diagnostics, notes) is in one language.
    """
    if not has_request_context():
        return None
    # The token endpoint too: its error_description is read by the same GP system's developer.
    if not (request.path in ("/fhir", "/oauth/token") or request.path.startswith("/fhir/")):
        return None
    return request.accept_languages.best_match(LANGUAGES, default=LANGUAGES[0])


@dataclass(frozen=True)
class Issue:
    """One problem found in a request.

    ``code`` is from http://hl7.org/fhir/issue-type (invalid, structure,
    required, value, invariant, business-rule, code-invalid, not-found, ...).
    ``message`` (with ``params``) must be a sentence a developer can act on and must never
    echo patient data (no BSN, names or free text from the request).
    """

    code: str
    message: str
    expression: str | None = None
    severity: Severity = "error"
    params: Mapping[str, object] = field(default_factory=dict, hash=False)

    @property
    def diagnostics(self) -> str:
        """The sentence in the current locale (see the module docstring)."""
        return Message(self.message, self.params).render()

    def english(self) -> str:
        """The sentence without the catalogue (the CLI, logs)."""
        return Message(self.message, self.params).english()

    @property
    def is_error(self) -> bool:
        return self.severity in ("fatal", "error")


def issue(code: str, message: Message, expression: str | None = None, severity: Severity = "error") -> Issue:
    """An Issue from a Message made elsewhere (a plural or nested sentence travels in its parameters)."""
    if message.plural is not None:
        return Issue(code, "%(text)s", expression, severity, {"text": message})
    return Issue(code, message.template, expression, severity, message.params)


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """Render issues as an OperationOutcome resource (plain JSON dict), in the request's language."""
    rendered = []
    for item in issues:
        entry: dict[str, Any] = {
            "severity": item.severity,
            "code": item.code,
            "diagnostics": item.diagnostics,
        }
        if item.expression:
            entry["expression"] = [item.expression]
        rendered.append(entry)
    if not rendered:
        rendered.append({"severity": "information", "code": "informational", "diagnostics": gettext("All OK")})
    return {"resourceType": "OperationOutcome", "issue": rendered}
