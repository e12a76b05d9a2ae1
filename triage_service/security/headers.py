"""Security headers on every response, set here rather than trusted to a proxy that may not exist."""

from __future__ import annotations

from typing import TypeVar

from flask import Flask, Response, g
from werkzeug.wrappers import Response as WerkzeugResponse

from triage_service.settings import Settings

ResponseT = TypeVar("ResponseT", bound=WerkzeugResponse)

#: Inbox pages: our own styles and images only, no script at all (nothing inline either).
PAGE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
               "frame-ancestors 'none'")
#: A page that draws charts may run our own script files, and only those: still nothing inline, no eval.
PAGE_WITH_SCRIPTS_POLICY = PAGE_POLICY + "; script-src 'self'"
#: The portal's new-consult form previews the photos the GP just took from ``blob:`` URLs the browser makes
#: of the chosen files (nothing leaves the device for the preview); only that page allows them.
PAGE_WITH_PREVIEWS_POLICY = PAGE_WITH_SCRIPTS_POLICY.replace("img-src 'self'", "img-src 'self' blob:")
#: The settings page turns Web Push on: it registers our service worker and posts the browser's subscription
#: to this site (fetch); nothing else is added.
PAGE_WITH_PUSH_POLICY = PAGE_WITH_SCRIPTS_POLICY + "; connect-src 'self'; worker-src 'self'"


#: Anything that is not a page (FHIR JSON, files, empty answers): nothing may be loaded or framed.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def security_headers(is_production: bool, policy: str = API_POLICY) -> dict[str, str]:
    """The headers every response carries; also written by the gunicorn worker (http_worker.py) for the
    requests it answers itself, which never reach the app."""
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
               "Content-Security-Policy": policy, "X-Frame-Options": "DENY",
               # Patient data must not be kept by browsers or intermediaries.
               "Cache-Control": "no-store"}
    if is_production:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return headers


def allow_own_scripts(previews: bool = False, push: bool = False) -> None:
    """Called by a view whose page loads our own script files (the dashboard's charts, the portal's photo
    check); ``previews`` also lets it show images the browser made of files chosen on the device, ``push``
    register the service worker and post the push subscription."""
    g.page_scripts = "previews" if previews else "push" if push else True


def never_cached(response: ResponseT) -> ResponseT:
    """A photo or file of a patient: not kept by the browser or anything between it and us. ``no-store``
    says so to every HTTP/1.1 cache (and every response has it, above); ``Pragma`` and an ``Expires`` in the
    past are for HTTP/1.0 proxies, which ignore Cache-Control and are still found in some hospital networks."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Expires"] = "0"
    return response


def init_app(app: Flask, settings: Settings) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        policy = API_POLICY
        if response.mimetype == "text/html":
            scripts = g.get("page_scripts")
            policy = PAGE_WITH_PREVIEWS_POLICY if scripts == "previews" else \
                PAGE_WITH_PUSH_POLICY if scripts == "push" else PAGE_WITH_SCRIPTS_POLICY if scripts else PAGE_POLICY
        for name, value in security_headers(settings.is_production, policy).items():
            response.headers.setdefault(name, value)
        return response
