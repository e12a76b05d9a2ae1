"""Security headers on every response, set here rather than trusted to a proxy that may not exist."""

from __future__ import annotations

from flask import Flask, Response, g

from triage_service.settings import Settings

#: Inbox pages: our own styles and images only, no script at all (nothing inline either).
PAGE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
               "frame-ancestors 'none'")
#: A page that draws charts may run our own script files, and only those: still nothing inline, no eval.
PAGE_WITH_SCRIPTS_POLICY = PAGE_POLICY + "; script-src 'self'"


def allow_own_scripts() -> None:
    """Called by a view whose page loads script files from ``web/static`` (the dashboard's charts)."""
    g.page_scripts = True


def init_app(app: Flask, settings: Settings) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy",
                                        PAGE_WITH_SCRIPTS_POLICY if g.get("page_scripts") else PAGE_POLICY)
        else:
            response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Patient data must not be kept by browsers or intermediaries.
        response.headers.setdefault("Cache-Control", "no-store")
        if settings.is_production:
            response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response
