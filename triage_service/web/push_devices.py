"""Notifications on a specialist's devices (Web Push): turning them on and off in Instellingen, the service
worker that shows them, and the notice on every inbox page while none of the user's devices has them on.

Turning them on happens in the browser (static/push.js: permission, service worker, ``PushManager.subscribe``);
the browser then posts its subscription here as JSON with the CSRF token in a header, and the subscription is
checked and stored by notifications/push.py. Only specialists are alerted (call-outs of urgent consults), so only
they see the section, the notice and the routes.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, jsonify, redirect, request, send_from_directory, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from triage_service.database import get_session
from triage_service.errors import Forbidden
from triage_service.models import UserRole
from triage_service.notifications import push
from triage_service.request_context import clock, settings
from triage_service.security.headers import allow_own_scripts
from triage_service.web.views import bp, current_user, inbox_actor

#: Under /inbox/, and allowed the whole site as its scope: the inbox's pages are /inbox, /consults/..., /settings.
WORKER_SCOPE = "/"
#: (User-Agent marker, name), first match wins: Edge and Opera say "Chrome" too, Chrome says "Safari".
_BROWSERS = (("Edg", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser", "Samsung Internet"), ("Firefox/", "Firefox"),
             ("FxiOS", "Firefox"), ("CriOS", "Chrome"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"))


def gets_alerts() -> bool:
    """Specialists are called out for urgent consults; staff, rota makers and practices are not."""
    user = g.get("inbox_user")
    return user is not None and user.role == UserRole.SPECIALIST.value


def device_name(user_agent: str) -> str:
    """"Chrome (Android)": enough for a user to tell their devices apart, in no language in particular."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    return f"{browser} ({system})" if browser and system else browser or system


@bp.before_request
def _notice_when_off() -> None:
    """Pages (GET) tell a specialist with no device that gets notifications; the settings page, whose push
    section turns them on (with our script, service worker and fetch: security/headers.py), says it itself."""
    g.push_off = False
    if not gets_alerts():
        return
    if request.endpoint == "web.user_settings":
        allow_own_scripts(push=True)
    elif request.method == "GET" and request.endpoint not in ("web.static", "web.service_worker"):
        g.push_off = not push.has_push(get_session(), current_user().id)


@bp.context_processor
def _push_section() -> dict[str, Any]:
    def section() -> dict[str, Any] | None:
        """What the settings page shows: this user's devices and the key a browser subscribes with."""
        if not gets_alerts():
            return None
        return {"devices": push.devices(get_session(), current_user().id),
                "public_key": push.vapid_public_key(settings())}

    return {"push_section": section, "push_alerts": gets_alerts}


@bp.get("/inbox/sw.js")
def service_worker() -> Response:
    """The service worker: public like the static files (a browser re-fetches it to update, logged in or not)."""
    assert bp.static_folder is not None
    response = send_from_directory(bp.static_folder, "push-sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = WORKER_SCOPE
    return response


def _only_specialists() -> None:
    if not gets_alerts():
        raise Forbidden(_("Notifications on a device are for specialists, who are called for urgent consults."))


@bp.post("/inbox/push/devices")
def push_subscribe() -> tuple[Response, int]:
    """The browser's PushSubscription as JSON ``{"subscription": {...}}``; the answer is JSON with words."""
    _only_specialists()
    body = request.get_json(silent=True)
    subscription = body.get("subscription") if isinstance(body, dict) else None
    try:
        push.subscribe(get_session(), current_user().id, subscription, device_name(request.user_agent.string),
                       clock(), settings=settings(), actor=inbox_actor())
    except push.BadSubscription as refused:
        get_session().rollback()
        return jsonify(error=_(refused.message)), 400
    message = _("Notifications are on for this device.")
    flash(message)
    return jsonify(message=message, settings=url_for("web.user_settings", _anchor="push")), 201


@bp.post("/inbox/push/devices/<subscription_id>/off")
def push_unsubscribe(subscription_id: str) -> WerkzeugResponse:
    _only_specialists()
    if push.unsubscribe(get_session(), current_user().id, subscription_id, clock(), actor=inbox_actor()):
        flash(_("Notifications are off for that device."))
    else:
        flash(_("That device no longer gets notifications."))
    return redirect(url_for("web.user_settings", _anchor="push"), 303)
