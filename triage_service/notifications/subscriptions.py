"""GP systems subscribe to changes of their Tasks (FHIR R4 Subscription, rest-hook channel).

What a subscription may be:
- criteria on ``Task`` only, with the Task search parameters of notifications/criteria.py;
  criteria that name another organisation's consult or GP are refused (403), although
  they could never match: a client asking for them has a bug worth hearing about;
- channel ``rest-hook`` to an absolute URL (https in production; no credentials in the
  URL: put them in ``channel.header``, which is stored encrypted and shown masked);
- payload ``application/fhir+json`` with id-only content (the default), or no payload
  (an empty POST). Full resources are refused: patient data is only read with a token.

The signing secret is generated here and shown once, in the response to the create,
as the extension ``triage-ext-subscription-secret`` on ``channel``; to change it,
delete the subscription and create a new one.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.encryption.envelope import KeyRing, WrappedKey
from triage_service.errors import N_, Forbidden, InvalidInput, UnprocessableInput
from triage_service.fhir.mapping import instant
from triage_service.models import AuditAction, Consult, Notification, Subscription, SubscriptionStatus
from triage_service.notifications.criteria import TaskCriteria, parse_criteria
from triage_service.outcome import Issue
from triage_service.settings import Settings

CANONICAL = "https://fhir.triage-service.nl"
TOPIC = f"{CANONICAL}/SubscriptionTopic/consult-task"
SECRET_EXTENSION = f"{CANONICAL}/StructureDefinition/triage-ext-subscription-secret"
_BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
PAYLOAD_CONTENT_EXTENSION = f"{_BACKPORT}/backport-payload-content"
BACKPORT_STATUS = f"{_BACKPORT}/backport-subscription-status-r4"
BACKPORT_NOTIFICATION = f"{_BACKPORT}/backport-subscription-notification-r4"
FHIR_JSON = "application/fhir+json"
#: Shown instead of a header's value; sent back unchanged in an update, it keeps the stored value.
MASK = "***"
MAX_PER_ORGANISATION = 20
MAX_HEADERS = 10
#: Headers the service sets itself; a subscriber may not override them.
_RESERVED = {"content-type", "content-length", "host", "transfer-encoding", "connection",
             "x-triage-signature", "x-triage-subscription", "x-triage-event-number"}
_HEADER = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n\x00]*)$")


@dataclass(frozen=True)
class SubscriptionSpec:
    """A submitted Subscription, checked."""

    status: SubscriptionStatus
    criteria: str
    reason: str
    endpoint: str
    payload_content: str
    headers: dict[str, str]
    end_at: datetime | None


#: models/subscription.py's criteria column.
MAX_CRITERIA_LENGTH = 1000


def _refused(message: str, expression: str, code: str = "value", **params: object) -> UnprocessableInput:
    """``message`` is a template marked with ``N_``; ``params`` its values (outcome.py)."""
    return UnprocessableInput(message, params=params, issues=[Issue(code, message, expression, params=params)])


def check_subscription(session: Session, resource: dict[str, Any], organisation_id: str, settings: Settings,
                       now: datetime, stored_headers: dict[str, str] | None = None) -> SubscriptionSpec:
    status = resource.get("status")
    if status not in ("requested", "active", "off"):
        raise _refused(N_("Subscription.status must be 'requested' (or 'active'; 'off' to pause); the service "
                          "sets 'error' itself"), "Subscription.status")
    criteria_text = str(resource.get("criteria", ""))
    if len(criteria_text.strip()) > MAX_CRITERIA_LENGTH:
        # The column's size (PostgreSQL refused a longer one with a 500; found by benchmarks/fuzz_api.py).
        raise _refused(N_("Subscription.criteria may be at most %(limit)s characters long"),
                       "Subscription.criteria", limit=MAX_CRITERIA_LENGTH)
    criteria = parse_criteria(criteria_text)
    _check_own_data(session, criteria, organisation_id)
    channel: dict[str, Any] = resource.get("channel", {})
    if channel.get("type") != "rest-hook":
        raise _refused(N_("Only the rest-hook channel is supported (got '%(channel)s')"),
                       "Subscription.channel.type", "not-supported", channel=channel.get('type'))
    endpoint = _endpoint(channel.get("endpoint"), settings)
    payload_content = _payload_content(channel)
    headers = _headers(channel.get("header", []), stored_headers or {})
    end_at = _end(resource.get("end"), now)
    return SubscriptionSpec(SubscriptionStatus(status), criteria_text.strip(), str(resource.get("reason", "")),
                            endpoint, payload_content, headers, end_at)


def _check_own_data(session: Session, criteria: TaskCriteria, organisation_id: str) -> None:
    if criteria.focus:
        own = set(session.scalars(select(Consult.id).where(Consult.id.in_(criteria.focus),
                                                           Consult.organisation_id == organisation_id)))
        if criteria.focus - own:
            raise Forbidden(N_("The criteria name a ServiceRequest that is not this organisation's"),
                            expression="Subscription.criteria")
    for agb in criteria.requesters:
        elsewhere = session.scalar(select(func.count()).select_from(Consult).where(
            Consult.requester_agb == agb, Consult.organisation_id != organisation_id))
        here = session.scalar(select(func.count()).select_from(Consult).where(
            Consult.requester_agb == agb, Consult.organisation_id == organisation_id))
        if elsewhere and not here:
            raise Forbidden(N_("The criteria name requester %(agb)s, a GP of another organisation"),
                            expression="Subscription.criteria", params={"agb": agb})


def _endpoint(value: object, settings: Settings) -> str:
    expression = "Subscription.channel.endpoint"
    if not isinstance(value, str) or not value:
        raise _refused(N_("A rest-hook subscription needs channel.endpoint, the URL notifications are POSTed to"),
                       expression, "required")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _refused(N_("channel.endpoint must be an absolute http(s) URL"), expression)
    if parts.username or parts.password:
        raise _refused(N_("channel.endpoint must not carry credentials; send them in channel.header"), expression)
    if settings.is_production and parts.scheme != "https":
        raise _refused(N_("channel.endpoint must use https: notifications are signed, not secret"), expression)
    if len(value) > 2000:
        raise _refused(N_("channel.endpoint is longer than 2000 characters"), expression)
    return value


def _payload_content(channel: dict[str, Any]) -> str:
    payload = channel.get("payload")
    if payload is None:
        return "empty"  # R4: no payload element means a notification without a body
    if payload != FHIR_JSON:
        raise _refused(N_("channel.payload must be %(type)s (or absent for an empty notification)"),
                       "Subscription.channel.payload", "not-supported", type=FHIR_JSON)
    content = "id-only"
    for extension in channel.get("_payload", {}).get("extension", []):
        if extension.get("url") == PAYLOAD_CONTENT_EXTENSION:
            content = extension.get("valueCode", "")
    if content == "full-resource":
        raise _refused(N_("Notifications carry ids only, never full resources: patient data is read with a "
                          "token, not pushed"), "Subscription.channel.payload", "not-supported")
    if content not in ("id-only", "empty"):
        raise _refused(N_("The payload content must be id-only or empty"), "Subscription.channel.payload")
    return content


def _headers(values: list[Any], stored: dict[str, str]) -> dict[str, str]:
    if len(values) > MAX_HEADERS:
        raise _refused(N_("At most %(limit)s channel headers"), "Subscription.channel.header",
                       limit=MAX_HEADERS)
    headers: dict[str, str] = {}
    for index, value in enumerate(values):
        expression = f"Subscription.channel.header[{index}]"
        match = _HEADER.match(str(value)) if len(str(value)) <= 2000 else None
        if match is None:
            raise _refused(N_("A channel header is 'Name: value' on one line (at most 2000 characters)"), expression)
        name, content = match.group(1), match.group(2).strip()
        if name.lower() in _RESERVED:
            raise _refused(N_("The header %(name)s is set by the service itself"), expression, name=name)
        if content == MASK:
            if name not in stored:
                raise _refused(N_("'%(mask)s' keeps a stored header value, but %(name)s has none"), expression,
                               mask=MASK, name=name)
            content = stored[name]
        headers[name] = content
    return headers


def _end(value: object, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        end = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(N_("Subscription.end must be an instant"), expression="Subscription.end") from exc
    if end.tzinfo is None or end <= now:
        raise _refused(N_("Subscription.end must be a moment in the future, with a time zone"), "Subscription.end")
    return end


def _seal(ring: KeyRing, secret: str, headers: dict[str, str]) -> WrappedKey:
    return ring.wrap(json.dumps({"secret": secret, "headers": headers}).encode())


def open_secrets(ring: KeyRing, subscription: Subscription) -> tuple[str, dict[str, str]]:
    """The signing secret and the receiver's headers, decrypted."""
    data = json.loads(ring.unwrap(WrappedKey(subscription.secrets_kek_id, subscription.secrets_wrapped)))
    return str(data["secret"]), dict(data["headers"])


def create_subscription(session: Session, actor: Actor, organisation_id: str, client_pk: str,
                        resource: dict[str, Any], settings: Settings, ring: KeyRing, server_base: str,
                        now: datetime) -> tuple[Subscription, str]:
    """A new active subscription, and its signing secret (returned this once)."""
    spec = check_subscription(session, resource, organisation_id, settings, now)
    if spec.status is SubscriptionStatus.OFF:
        raise _refused(N_("A new subscription starts as 'requested'"), "Subscription.status")
    count = session.scalar(select(func.count()).select_from(Subscription).where(
        Subscription.organisation_id == organisation_id, Subscription.status != SubscriptionStatus.OFF)) or 0
    if count >= MAX_PER_ORGANISATION:
        raise _refused(N_("This organisation already has %(count)s subscriptions; delete one first"),
                       "Subscription", "business-rule", count=count)
    secret = secrets.token_urlsafe(32)
    sealed = _seal(ring, secret, spec.headers)
    subscription = Subscription(
        organisation_id=organisation_id, client_pk=client_pk, status=SubscriptionStatus.ACTIVE,
        criteria=spec.criteria, reason=spec.reason, endpoint=spec.endpoint, payload_content=spec.payload_content,
        end_at=spec.end_at, server_base=server_base, secrets_kek_id=sealed.kek_id,
        secrets_wrapped=sealed.wrapped, header_names=sorted(spec.headers), failures=0, events_since_start=0,
        version=1, created_at=now, updated_at=now)
    session.add(subscription)
    session.flush()
    record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type="Subscription",
           resource_id=subscription.id, at=now)
    return subscription, secret


def update_subscription(session: Session, actor: Actor, subscription: Subscription, resource: dict[str, Any],
                        settings: Settings, ring: KeyRing, now: datetime) -> Subscription:
    """Change criteria, channel or end; ``off`` pauses; ``requested``/``active`` resumes one in error."""
    secret, stored = open_secrets(ring, subscription)
    spec = check_subscription(session, resource, subscription.organisation_id, settings, now, stored)
    resumed = spec.status is not SubscriptionStatus.OFF and subscription.status is not SubscriptionStatus.ACTIVE
    subscription.status = SubscriptionStatus.OFF if spec.status is SubscriptionStatus.OFF else \
        SubscriptionStatus.ACTIVE
    if resumed:
        # Resuming retries at once; events queued meanwhile are still there and go out in order.
        subscription.error, subscription.failures, subscription.next_attempt_at = None, 0, None
    subscription.criteria, subscription.reason, subscription.endpoint = spec.criteria, spec.reason, spec.endpoint
    subscription.payload_content, subscription.end_at = spec.payload_content, spec.end_at
    sealed = _seal(ring, secret, spec.headers)
    subscription.secrets_kek_id, subscription.secrets_wrapped = sealed.kek_id, sealed.wrapped
    subscription.header_names = sorted(spec.headers)
    subscription.version += 1
    subscription.updated_at = now
    session.flush()
    record(session, actor, event="fhir.update", action=AuditAction.UPDATE, resource_type="Subscription",
           resource_id=subscription.id, at=now, detail=f"status={subscription.status.value}")
    return subscription


def delete_subscription(session: Session, actor: Actor, subscription: Subscription, now: datetime) -> None:
    """Gone, with whatever it was still owed (the outbox rows cascade)."""
    session.execute(delete(Notification).where(Notification.subscription_id == subscription.id))
    session.delete(subscription)
    session.flush()
    record(session, actor, event="fhir.delete", action=AuditAction.DELETE, resource_type="Subscription",
           resource_id=subscription.id, at=now)


def rewrap_subscription_secrets(session: Session, ring: KeyRing) -> int:
    """Key rotation: every subscription's secrets under the active key."""
    count = 0
    for subscription in session.scalars(select(Subscription)):
        wrapped = ring.rewrap(WrappedKey(subscription.secrets_kek_id, subscription.secrets_wrapped))
        if wrapped.kek_id != subscription.secrets_kek_id:
            subscription.secrets_kek_id, subscription.secrets_wrapped = wrapped.kek_id, wrapped.wrapped
            count += 1
    return count


def subscription_to_fhir(subscription: Subscription, secret: str | None = None) -> dict[str, Any]:
    channel: dict[str, Any] = {"type": "rest-hook", "endpoint": subscription.endpoint}
    if subscription.payload_content != "empty":
        channel["payload"] = FHIR_JSON
        channel["_payload"] = {"extension": [{"url": PAYLOAD_CONTENT_EXTENSION,
                                              "valueCode": subscription.payload_content}]}
    if subscription.header_names:
        channel["header"] = [f"{name}: {MASK}" for name in subscription.header_names]
    if secret is not None:
        channel["extension"] = [{"url": SECRET_EXTENSION, "valueString": secret}]
    body: dict[str, Any] = {
        "resourceType": "Subscription",
        "id": subscription.id,
        "meta": {"versionId": str(subscription.version), "lastUpdated": instant(subscription.updated_at)},
        "status": subscription.status.value,
        "reason": subscription.reason,
        "criteria": subscription.criteria,
        "channel": channel,
    }
    if subscription.end_at is not None:
        body["end"] = instant(subscription.end_at)
    if subscription.error:
        body["error"] = subscription.error
    return body
