"""Security headers on every response, set here rather than trusted to a proxy that may not exist."""

from __future__ import annotations

from flask import Flask, Response

from triage_service.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            # Inbox pages: our own styles and images only, no script at all (nothing inline either).
            response.headers.setdefault("Content-Security-Policy", "default-src 'none'; style-src 'self'; "
                                        "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
        else:
            response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Patient data must not be kept by browsers or intermediaries.
        response.headers.setdefault("Cache-Control", "no-store")
        if settings.is_production:
            response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response
