"""OperationOutcome issues: the one shape every validation layer reports in.

Every check (structure, FHIR model, profile, business rule) returns a list of
:class:`Issue`; the API turns them into one OperationOutcome. Keeping one shape
means a GP system sees every problem of a request at once, each with an
``expression`` (FHIRPath-style, e.g. ``ServiceRequest.reasonCode[0]``) pointing
at the element, as FHIR.md "Errors" asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["fatal", "error", "warning", "information"]


@dataclass(frozen=True)
class Issue:
    """One problem found in a request.

    ``code`` is from http://hl7.org/fhir/issue-type (invalid, structure,
    required, value, invariant, business-rule, code-invalid, not-found, ...).
    ``diagnostics`` must be a sentence a developer can act on and must never
    echo patient data (no BSN, names or free text from the request).
    """

    code: str
    diagnostics: str
    expression: str | None = None
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity in ("fatal", "error")


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """Render issues as an OperationOutcome resource (plain JSON dict)."""
    rendered = []
    for issue in issues:
        entry: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code,
            "diagnostics": issue.diagnostics,
        }
        if issue.expression:
            entry["expression"] = [issue.expression]
        rendered.append(entry)
    if not rendered:
        rendered.append({"severity": "information", "code": "informational", "diagnostics": "All OK"})
    return {"resourceType": "OperationOutcome", "issue": rendered}
