"""Subscription create, read, search, update and delete, for a GP system's own subscriptions."""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import ColumnElement, func, select

from triage_service.api.io import fhir_response, read_resource, read_resource_for_update
from triage_service.api.resources import bp, owned
from triage_service.api.search_params import check_params, page_of, search_bundle, split_values
from triage_service.attachments.blobs import load_keyring
from triage_service.audit.trail import record
from triage_service.consults.task_states import check_version
from triage_service.database import get_session
from triage_service.models import AuditAction, Subscription
from triage_service.notifications.subscriptions import (
    create_subscription,
    delete_subscription,
    subscription_to_fhir,
    update_subscription,
)
from triage_service.request_context import base_url, clock, settings
from triage_service.security.policy import request_actor, require_scope


def _location(subscription: Subscription) -> str:
    return f"{base_url()}/Subscription/{subscription.id}/_history/{subscription.version}"


@bp.post("/Subscription", endpoint="create_subscription")
def create() -> Response:
    access = require_scope("Subscription", "create")
    resource = read_resource("Subscription")
    subscription, secret = create_subscription(
        get_session(), request_actor(), access.organisation_id, access.client_pk, resource, settings(),
        load_keyring(settings()), base_url(), clock())
    # The secret is in this response only: it is never shown again.
    return fhir_response(subscription_to_fhir(subscription, secret), 201, subscription.version,
                         _location(subscription))


@bp.get("/Subscription/<rid>", endpoint="read_subscription")
def read(rid: str) -> Response:
    access = require_scope("Subscription", "read")
    subscription = owned(Subscription, rid, access.organisation_id)
    record(get_session(), request_actor(), event="fhir.read", action=AuditAction.READ,
           resource_type="Subscription", resource_id=rid, at=clock())
    return fhir_response(subscription_to_fhir(subscription), 200, subscription.version)


@bp.get("/Subscription", endpoint="search_subscriptions")
def search() -> Response:
    access = require_scope("Subscription", "search")
    check_params({"status"})
    where: list[ColumnElement[bool]] = [Subscription.organisation_id == access.organisation_id]
    for raw in request.args.getlist("status"):
        where.append(Subscription.status.in_(split_values(raw)))
    query = select(Subscription).where(*where).order_by(Subscription.created_at, Subscription.id)
    rows, total, count, offset = page_of(query, select(func.count()).select_from(Subscription).where(*where))
    return search_bundle("Subscription", [subscription_to_fhir(s) for s in rows], [None for _ in rows],
                    total, count, offset)


@bp.put("/Subscription/<rid>", endpoint="update_subscription")
def update(rid: str) -> Response:
    access = require_scope("Subscription", "update")
    resource = read_resource_for_update("Subscription", rid)
    subscription = owned(Subscription, rid, access.organisation_id)
    check_version(subscription.version, request.headers.get("If-Match"))
    update_subscription(get_session(), request_actor(), subscription, resource, settings(),
                        load_keyring(settings()), clock())
    return fhir_response(subscription_to_fhir(subscription), 200, subscription.version)


@bp.delete("/Subscription/<rid>", endpoint="delete_subscription")
def delete(rid: str) -> Response:
    access = require_scope("Subscription", "delete")
    delete_subscription(get_session(), request_actor(), owned(Subscription, rid, access.organisation_id), clock())
    response = Response(status=204)
    # werkzeug labels every response text/html by default; an empty FHIR answer has no content type at all.
    del response.headers["Content-Type"]
    return response
