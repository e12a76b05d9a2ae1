"""SQLAlchemy 2.0 typed models, one module per aggregate.

Importing this package registers every table on ``Base.metadata`` (Alembic and
the schema test rely on that).
"""

from triage_service.models.agreement import Agreement, PatientProfile
from triage_service.models.appointment import APPOINTMENT_FORMS, Appointment, AppointmentStatus
from triage_service.models.attachment import Attachment
from triage_service.models.audit import AuditAction, AuditEntry, AuditOutcome
from triage_service.models.back_referral import BackReferral, BackReferralMessage, BackReferralStatus
from triage_service.models.base import Base
from triage_service.models.blob import EncryptedBlob
from triage_service.models.client import AccessToken, ApiClient, UsedAssertion
from triage_service.models.consult import (
    TASK_TRANSITIONS,
    Consult,
    ConsultIdentifier,
    ConsultTask,
    RequestStatus,
    TaskStatus,
)
from triage_service.models.context import ConsultContextItem
from triage_service.models.declaration import DeclarationBatch, DeclarationLine
from triage_service.models.draft import ConsultDraft, DraftStatus
from triage_service.models.message import ConsultMessage, MessageCategory
from triage_service.models.monitoring import ConsultFact
from triage_service.models.on_call import CalloutStage, OnCallShift, UrgentCallout
from triage_service.models.organisation import (
    REQUESTER_KINDS,
    Organisation,
    OrganisationKind,
    Practitioner,
    PractitionerRoleKind,
)
from triage_service.models.overflow import OVERFLOW_REASONS, Overflow
from triage_service.models.patient_link import PatientUploadLink
from triage_service.models.push import PushNotice, PushSubscription
from triage_service.models.resource import StoredResource
from triage_service.models.routing import Absence, DeadlineEvent, ReferralFlag, RoutingDecision
from triage_service.models.subscription import Notification, Subscription, SubscriptionStatus
from triage_service.models.team import ExpertiseTeam, ExpertiseTeamMember, MdoEntry, TeamAnswer
from triage_service.models.user import PRACTICE_ROLES, EmailNotice, User, UserRole
from triage_service.models.verdict import WITHOUT_ADVICE, GpVerdict
from triage_service.models.web_session import WebSession
from triage_service.models.work import TextSnippet, TimeRegistration

__all__ = [
    "APPOINTMENT_FORMS",
    "OVERFLOW_REASONS",
    "PRACTICE_ROLES",
    "REQUESTER_KINDS",
    "TASK_TRANSITIONS",
    "WITHOUT_ADVICE",
    "Absence",
    "AccessToken",
    "Agreement",
    "ApiClient",
    "Appointment",
    "AppointmentStatus",
    "Attachment",
    "AuditAction",
    "AuditEntry",
    "AuditOutcome",
    "BackReferral",
    "BackReferralMessage",
    "BackReferralStatus",
    "Base",
    "CalloutStage",
    "Consult",
    "ConsultContextItem",
    "ConsultDraft",
    "ConsultFact",
    "ConsultIdentifier",
    "ConsultMessage",
    "ConsultTask",
    "DeadlineEvent",
    "DeclarationBatch",
    "DeclarationLine",
    "DraftStatus",
    "EmailNotice",
    "EncryptedBlob",
    "ExpertiseTeam",
    "ExpertiseTeamMember",
    "GpVerdict",
    "MdoEntry",
    "MessageCategory",
    "Notification",
    "OnCallShift",
    "Organisation",
    "OrganisationKind",
    "Overflow",
    "PatientProfile",
    "PatientUploadLink",
    "Practitioner",
    "PractitionerRoleKind",
    "PushNotice",
    "PushSubscription",
    "ReferralFlag",
    "RequestStatus",
    "RoutingDecision",
    "StoredResource",
    "Subscription",
    "SubscriptionStatus",
    "TaskStatus",
    "TeamAnswer",
    "TextSnippet",
    "TimeRegistration",
    "UrgentCallout",
    "UsedAssertion",
    "User",
    "UserRole",
    "WebSession",
]
