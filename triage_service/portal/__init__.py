"""The GP's own screens (``/huisarts``): a practice asks for advice from a browser or a phone.

A third door beside the FHIR API and the specialist inbox, over the same domain code: a new consult is
sent through the intake a GP system's POST uses (consults/drafts.py), and answering a question,
confirming advice, cancelling and booking call what the API calls (consults/practice.py). Logging in is
the inbox's (password + TOTP); ``security/policy.py`` lets only a practice's accounts in here, and
every query filters on the account's practice.
"""

from __future__ import annotations

from flask import Flask

from triage_service.portal import (  # noqa: F401 - views register on views.bp
    back_referrals,
    launch,
    new_consult,
    patient_page,
    verdict,
    views,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(patient_page.bp)  # the patient's upload page: public, the link and birth date authenticate
    # The launch is a cross-site POST from the GP system, authenticated by its signed JWT (security/his_launch.py),
    # so the session's CSRF token cannot apply; every other portal form has one.
    app.extensions["csrf"].exempt(launch.launch)
