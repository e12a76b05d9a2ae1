"""What the pages call things: each code's label in the reader's language, and the helpers every template
may use (money, percentages, dates in Dutch time, the routing and flag explanations)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import format_datetime, get_locale, gettext
from flask_babel import gettext as _

from triage_service.web import dashboard as reports_page
from triage_service.web.flag_text import flag_text
from triage_service.web.routing_text import routing_text


def code_labels() -> dict[str, dict[str | None, str]]:
    # Built per request: gettext must run in the request's language.
    return {
        "priority": {"routine": _("Routine"), "urgent": _("Urgent"), "asap": _("As soon as possible"),
                     "stat": _("Immediately")},
        "sex": {"female": _("Woman"), "male": _("Man"), "other": _("Other"), "unknown": _("Unknown")},
        "form": {"e-consult": _("E-consult"), "intercollegial-consult": _("Intercollegial consult"),
                 "video-consult": _("Video consult"), "ecms": _("One-off physical consult (ECMS)")},
        "intent": {"would-refer": _("Yes"), "would-not-refer": _("No"), "unsure": _("Unsure"), None: "-"},
        "outcome": {"primary-care-advice": _("Treat in primary care with this advice"),
                    "ecms": _("One-off physical consult (ECMS)"), "referral-indicated": _("Referral indicated"),
                    "other-specialism": _("Another specialism"), "not-suitable": _("Not suitable for a consult"),
                    "referral-accepted": _("Referral accepted"),
                    "returned-with-advice": _("Returned to the GP with advice")},
        # Only the business statuses that say more than the Task status; the others show the Task status.
        "business": {"referral-accepted": _("Referral accepted"),
                     "referral-returned": _("Returned to the GP with advice"),
                     "appointment-proposed": _("Appointment times proposed"),
                     "appointment-booked": _("Appointment booked"),
                     "appointment-cancelled": _("Appointment cancelled: propose new times or answer"),
                     "appointment-fulfilled": _("Appointment held: give your advice"),
                     "appointment-no-show": _("The patient did not come: waiting for the GP")},
        "appointment": {"proposed": _("Proposed"), "booked": _("Booked"), "cancelled": _("Cancelled"),
                        "fulfilled": _("Held"), "noshow": _("Patient did not come")},
        "status": {"accepted": _("New"), "in-progress": _("In progress"), "on-hold": _("Waiting for the GP"),
                   "completed": _("Answered"), "rejected": _("Declined"), "cancelled": _("Cancelled by the GP")},
        # The actions time is registered for (consults/time_spent.py).
        "action": {"ask": _("Question to the GP"), "answer": _("Advice"), "accept-referral": _("Referral accepted"),
                   "return-referral": _("Returned to the GP with advice"), "forward": _("Forwarded"),
                   "decline": _("Declined"), "appointment": _("Appointment")},
        "message": {"request-for-information": _("Question to the GP"),
                    "information-provided": _("Answer from the GP"), "advice": _("Advice"), "general": _("Message")},
    }



def form_in_sentence(forms: dict[str | None, str]) -> Any:
    """A consult form's label inside a sentence: only its first letter lowered ("eenmalig consult medisch
    specialist (ECMS)"), where Jinja's ``lower`` wrote the abbreviation as "(ecms)"."""
    def label(code: str | None) -> str:
        text = forms.get(code, code or "")
        return text[:1].lower() + text[1:]
    return label


def template_globals() -> dict[str, Any]:
    labels = code_labels()
    # Looked up once per page, then formatted per row (each gettext call finds the locale and catalogue again).
    years = gettext("%(age)d years")

    def lookup(kind: str) -> Any:
        return lambda value: labels[kind].get(value, value or "")

    return {"current_user": g.get("inbox_user"), "sees_reports": g.get("sees_reports", False),
            "money": reports_page.money, "percent": reports_page.percent, "hours": reports_page.hours,
            "grouping_label": reports_page.grouping_label, "target_label": reports_page.target_label,
            "target_value": reports_page.target_value,
            "priority_label": lookup("priority"), "sex_label": lookup("sex"),
            "form_label": lookup("form"), "form_in_sentence": form_in_sentence(labels["form"]),
            "intent_label": lookup("intent"), "outcome_label": lookup("outcome"),
            "message_label": lookup("message"), "status_label": lookup("status"),
            "appointment_label": lookup("appointment"), "action_label": lookup("action"),
            "translate": _,
            "business_label": lambda value: labels["business"].get(value, ""), "get_locale": get_locale,
            "routing_text": routing_text, "flag_text": flag_text, "age_label": lambda age: years % {"age": age},
            # Shown in Dutch time: Flask-Babel converts to BABEL_DEFAULT_TIMEZONE (web/__init__.py). Converting
            # here as well was undone by Babel, which showed UTC.
            "format_datetime": format_datetime}
