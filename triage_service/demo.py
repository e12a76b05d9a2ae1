"""Demo data for newcomers: the organisations in ``config/demo/``, the agreements in
``config/agreements/``, two registered GP systems with keys in the instance folder,
and demo web users. Loading twice changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.accounts.registration import create_user, register_client
from triage_service.agreements.importer import import_agreements
from triage_service.agreements.schema import InsurerSchema, PartySchema, StrictSchema
from triage_service.encryption.envelope import generate_client_keypair
from triage_service.errors import Forbidden
from triage_service.models import (
    Agreement,
    ApiClient,
    Organisation,
    OrganisationKind,
    Practitioner,
    PractitionerRoleKind,
    User,
)
from triage_service.models.user import UserRole

# The published demo credentials live beside the rule that refuses them in production; named here as before.
from triage_service.security.demo_credentials import DEMO_PASSWORD as DEMO_PASSWORD
from triage_service.security.demo_credentials import DEMO_PRACTICE_USERS as DEMO_PRACTICE_USERS
from triage_service.security.demo_credentials import DEMO_ROTA_MAKER as DEMO_ROTA_MAKER
from triage_service.security.demo_credentials import DEMO_STAFF as DEMO_STAFF
from triage_service.security.demo_credentials import DEMO_USERS as DEMO_USERS
from triage_service.settings import PROJECT_ROOT, Settings, ensure_private_dir

DEMO_ORGANISATIONS = PROJECT_ROOT / "config" / "demo" / "organisations.yaml"
DEMO_SCOPES = ["system/ServiceRequest.write", "system/ServiceRequest.read", "system/Task.read",
               "system/Task.write", "system/Patient.write", "system/Patient.read", "system/Organization.write",
               "system/Organization.read", "system/PractitionerRole.write", "system/PractitionerRole.read",
               "system/Coverage.write", "system/Coverage.read", "system/Binary.write", "system/Binary.read",
               "system/DocumentReference.write", "system/DocumentReference.read", "system/Communication.write",
               "system/Communication.read", "system/Subscription.write", "system/Subscription.read",
               "system/Appointment.read", "system/Appointment.write"]


class _Practice(PartySchema):
    gps = fields.List(fields.Nested(PartySchema), required=True)


class _DemoOrganisations(StrictSchema):
    zorggroep = fields.Nested(PartySchema, required=True)
    insurers = fields.List(fields.Nested(InsurerSchema), required=True)
    practices = fields.List(fields.Nested(_Practice), required=True)
    out_of_hours_posts = fields.List(fields.Nested(_Practice), load_default=list)


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    practice: str
    key_file: Path
    kid: str


def _org(session: Session, kind: OrganisationKind, name: str, agb: str | None = None,
         uzovi: str | None = None) -> Organisation:
    existing = session.scalar(select(Organisation).where(
        Organisation.agb == agb if agb else Organisation.uzovi == uzovi))
    if existing is not None:
        return existing
    org = Organisation(kind=kind, name=name, agb=agb, uzovi=uzovi)
    session.add(org)
    session.flush()
    return org


def load_demo(session: Session, settings: Settings) -> list[DemoClient]:
    import yaml

    if settings.is_production:
        # The demo accounts' passwords and TOTP secrets are published: in production they would be a way in.
        raise Forbidden("The demo is never loaded in production (TRIAGE_ENV=production): its accounts' passwords "
                        "and TOTP secrets are published in the README. Create real accounts with "
                        "`triage-service create-user`.")

    data = _DemoOrganisations().load(yaml.safe_load(DEMO_ORGANISATIONS.read_text(encoding="utf-8")))
    _org(session, OrganisationKind.ZORGGROEP, data["zorggroep"]["name"], agb=data["zorggroep"]["agb"])
    for insurer in data["insurers"]:
        _org(session, OrganisationKind.INSURER, insurer["name"], uzovi=insurer["uzovi"])
    practices = []
    kinds = [(OrganisationKind.GP_PRACTICE, p) for p in data["practices"]] + \
        [(OrganisationKind.OUT_OF_HOURS_POST, p) for p in data["out_of_hours_posts"]]
    for kind, practice in kinds:
        org = _org(session, kind, practice["name"], agb=practice["agb"])
        practices.append(org)
        for gp in practice["gps"]:
            if session.scalar(select(Practitioner).where(Practitioner.agb == gp["agb"])) is None:
                session.add(Practitioner(agb=gp["agb"], name=gp["name"], role=PractitionerRoleKind.GP,
                                         organisation_id=org.id))
    import_agreements(session, settings.agreements_path)

    clients = []
    key_dir = settings.instance_path / "demo-clients"
    ensure_private_dir(key_dir)
    for org in practices:
        assert org.agb
        client_id = f"demo-his-{org.agb}"
        kid = f"{client_id}-key-1"
        key_file = key_dir / f"{client_id}.pem"
        if session.scalar(select(ApiClient).where(ApiClient.client_id == client_id)) is None or not key_file.exists():
            pem, jwks = generate_client_keypair(kid)
            key_file.write_bytes(pem)
            key_file.chmod(0o600)
            (key_dir / f"{client_id}.jwks.json").write_text(json.dumps(jwks, indent=2))
            existing = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
            if existing is not None:
                existing.jwks = jwks  # the private key was lost: re-key the demo client
            else:
                register_client(session, name=f"Demo HIS {org.name}", organisation_agb=org.agb, jwks=jwks,
                                scopes=DEMO_SCOPES, client_id=client_id)
        registered = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        if registered is not None:
            registered.scopes = " ".join(DEMO_SCOPES)  # demo clients follow the scopes this release offers
        clients.append(DemoClient(client_id, org.name, key_file, kid))

    for username, name, agb, secret in DEMO_USERS:
        if session.scalar(select(User).where(User.username == username)) is None:
            create_user(session, username=username, display_name=name, role=UserRole.SPECIALIST,
                        password=DEMO_PASSWORD, practitioner_agb=agb, totp_secret=secret)
    username, name, agb, secret = DEMO_STAFF
    if session.scalar(select(User).where(User.username == username)) is None:
        create_user(session, username=username, display_name=name, role=UserRole.ZORGGROEP_STAFF,
                    password=DEMO_PASSWORD, organisation_agb=agb, totp_secret=secret)
    username, name, agb, secret = DEMO_ROTA_MAKER
    if session.scalar(select(User).where(User.username == username)) is None:
        create_user(session, username=username, display_name=name, role=UserRole.ROTA_MAKER,
                    password=DEMO_PASSWORD, organisation_agb=agb, totp_secret=secret)
    for username, name, gp_agb, practice_agb, secret in DEMO_PRACTICE_USERS:
        if session.scalar(select(User).where(User.username == username)) is None:
            create_user(session, username=username, display_name=name,
                        role=UserRole.GP if gp_agb else UserRole.PRACTICE_STAFF, password=DEMO_PASSWORD,
                        practitioner_agb=gp_agb, organisation_agb=None if gp_agb else practice_agb,
                        totp_secret=secret)
    session.flush()
    demo_rota(session, session.scalars(select(Agreement)), clock.now())
    _demo_consults(session, practices[0])
    posts = [org for org in practices if org.kind is OrganisationKind.OUT_OF_HOURS_POST]
    if posts:
        _demo_urgent_consult(session, posts[0], practices[0])
    return clients


def demo_rota(session: Session, agreements: Iterable[Agreement], now: datetime, days: int = 14) -> None:
    """An on-call rota that works on any day the demo is loaded: for every agreement that admits out-of-hours
    posts, per specialism of its profiles, ``days`` shifts of a day from 08:00 Dutch time, the agreement's
    specialists of that specialism taking turns and the next one the backup. It starts at today's 08:00, or
    yesterday's before 08:00, so that someone is on call from the moment the demo starts. Imported as a rota
    maker's file would be (agreements/rota.py); a rota changed since in a way the new one would cut into is
    kept as it is."""
    from triage_service.agreements.rota import import_rota
    from triage_service.agreements.rota_files import RotaRefused, read_rota_file
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.routing.working_time import AMSTERDAM

    local = now.astimezone(AMSTERDAM)
    first = local.date() - timedelta(days=1 if local.hour < 8 else 0)
    for agreement in agreements:
        if not agreement.out_of_hours_posts:
            continue
        for specialism in sorted({profile.specialism for profile in agreement.profiles}):
            agbs = [agb for agb in agreement.specialist_agbs if session.scalar(select(Practitioner.specialism).where(
                Practitioner.agb == agb)) == specialism]
            if len(agbs) < 2:
                continue  # a shift needs a backup who is someone else
            # Day to day in Dutch wall-clock time, so a shift over the change to or from summer time lasts 23 or
            # 25 hours and every shift still changes over at 08:00.
            rows = [f"{first + timedelta(days=n)} 08:00;{first + timedelta(days=n + 1)} 08:00;{agbs[n % len(agbs)]};"
                    f"{agbs[(n + 1) % len(agbs)]}" for n in range(days)]
            rota = read_rota_file("demo-rota.csv", "\n".join(["begin;einde;dienst;achterwacht", *rows]).encode())
            try:  # refused before anything is written
                import_rota(session, CLI_ACTOR, rota, organisation_id=agreement.subcontractor_id,
                            specialism=specialism)
            except RotaRefused:
                continue


DEMO_EXAMPLE = PROJECT_ROOT / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"


DEMO_REFERRAL_NOTE = ("Verwijzing: psoriasis vulgaris op ellebogen, knieën en behaarde hoofd, ongeveer 8% van het "
                      "lichaamsoppervlak. Drie maanden calcipotriol/betamethason zonder voldoende effect. Graag "
                      "beoordeling voor lichttherapie of systemische behandeling.")


DEMO_ECMS_NOTE = ("Patiënte heeft een pigmentlaesie op de rug die in een half jaar is veranderd; fotograferen lukt "
                  "niet goed door beharing. Graag eenmalig beoordelen met dermatoscopie; zij blijft bij mij onder "
                  "behandeling.")
DEMO_VIDEO_NOTE = ("Bloeddruk blijft rond 165/95 ondanks amlodipine 10 mg en hydrochloorthiazide. Graag een "
                   "videoconsult met patiënt en mij om de volgende stap te bespreken.")

DEMO_MYCOSIS_NOTE = ("Patiënte heeft sinds zes weken rode, schilferende en jeukende plekken in beide liezen met een "
                     "scherpe rand. Vier weken miconazolcrème zonder verbetering; KOH-preparaat niet gedaan. Vraag: "
                     "is dit nog een dermatomycose (orale therapie?), of moet ik denken aan intertrigo of "
                     "inverse psoriasis?")


def _demo_consults(session: Session, practice: Organisation) -> None:
    """Consults submitted through the normal intake (idempotent): for the demo dermatologist two
    meekijkconsults to answer, one referral to triage (agreement TRIAGE-DERM) and an ECMS to plan; for the
    demo cardiologist a video consult to plan."""
    from triage_service import clock
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.consults.intake import submit_consult
    from triage_service.consults.validation import CS_CONSULT_FORM
    from triage_service.fhir.profiles import registry
    from triage_service.models.consult import REFERRAL_CATEGORY
    from triage_service.records.resolution import Resolver

    client = session.scalar(select(ApiClient).where(ApiClient.organisation_id == practice.id))
    if client is None:
        return
    now = clock.now()
    cardiologist = next(u for u in DEMO_USERS if u[0] == "cardioloog")
    # (number, ICPC, display, referral, consult form, specialist): the last two show the appointment flow.
    for number, icpc, display, referral, form, specialist in (
            ("DEMO-1", "S82", "Naevus/moedervlek", False, None, DEMO_USERS[0]),
            ("DEMO-2", "S74", "Dermatomycose", False, None, DEMO_USERS[0]),
            ("DEMO-3", "S91", "Psoriasis", True, None, DEMO_USERS[0]),
            ("DEMO-4", "S82", "Naevus/moedervlek", False, "ecms", DEMO_USERS[0]),
            ("DEMO-5", "K86", "Essentiële hypertensie", False, "video-consult", cardiologist)):
        resource = json.loads(DEMO_EXAMPLE.read_text(encoding="utf-8"))
        resource.pop("id")
        resource["identifier"][0]["value"] = f"HIS-{number}"
        resource["authoredOn"] = now.isoformat()
        resource["reasonCode"][0]["coding"][0].update(code=icpc, display=display)
        resource["performer"] = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z",
                                                 "value": specialist[2]}, "display": specialist[1]}]
        if form is not None:
            resource["code"]["coding"][0].update(code=form, display=registry().display(CS_CONSULT_FORM, form))
            resource["note"] = [{"text": DEMO_VIDEO_NOTE if form == "video-consult" else DEMO_ECMS_NOTE}]
            resource["reasonCode"][0]["text"] = display
        if form == "video-consult":
            resource["performerType"]["coding"][0].update(code="0320", display="Cardiologie")
        if referral:
            # A normal referral sent for triage: no GP intent or conversion authorisation, which only a
            # meekijkconsult has.
            resource["category"][0]["coding"][0].update(code=REFERRAL_CATEGORY,
                                                         display="Referral for specialist triage")
            resource.pop("extension")
            resource["reasonCode"][0]["text"] = "Psoriasis, onvoldoende effect van lokale therapie"
            resource["note"] = [{"text": DEMO_REFERRAL_NOTE}]
        elif icpc == "S74":
            resource["reasonCode"][0]["text"] = "Schilferende, jeukende plekken liezen, niet over op miconazol"
            resource["note"] = [{"text": DEMO_MYCOSIS_NOTE}]
        submit_consult(session, CLI_ACTOR, practice, client.id, resource, Resolver(session, practice.id, resource),
                       now, if_none_exist=(resource["identifier"][0]["system"], f"HIS-{number}"))


DEMO_URGENT_NOTE = ("Man van 58, sinds twee uur hartkloppingen en licht drukkend gevoel, niet uitstralend. ECG op de "
                    "post: atriumfibrilleren, ventrikelfrequentie 110, geen ST-afwijkingen. Hemodynamisch stabiel. "
                    "Kan hij met frequentiecontrole thuis blijven en morgen naar de eigen huisarts, of moet hij "
                    "vannacht naar de SEH?")


def _demo_urgent_consult(session: Session, post: Organisation, own_practice: Organisation) -> None:
    """An urgent question from the out-of-hours post, sent now: the cardiologist on call (or, in office hours,
    the least-loaded one) is being called out, so the inbox shows the banner and "Ik pak hem op"."""
    from triage_service import clock
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.consults.intake import submit_consult
    from triage_service.records.resolution import Resolver

    client = session.scalar(select(ApiClient).where(ApiClient.organisation_id == post.id))
    gp = session.scalar(select(Practitioner).where(Practitioner.organisation_id == post.id))
    if client is None or gp is None or not post.agb or not own_practice.agb:
        return
    now = clock.now()
    # The demo request as the post's GP system sends it: the post and its GP as requester.
    text = DEMO_EXAMPLE.read_text(encoding="utf-8").replace(f'"{own_practice.agb}"', f'"{post.agb}"')
    resource = json.loads(text.replace('"01012345"', f'"{gp.agb}"'))
    resource.pop("id")
    resource["identifier"][0]["value"] = "HAP-DEMO-1"
    resource["authoredOn"] = now.isoformat()
    resource["priority"] = "urgent"
    resource["performerType"]["coding"][0].update(code="0320", display="Cardiologie")
    resource["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "K78",
                                           "display": "Atriumfibrilleren/-fladderen"}],
                               "text": "Nieuw atriumfibrilleren, hemodynamisch stabiel"}]
    resource["note"] = [{"text": DEMO_URGENT_NOTE}]
    # The post's name and its GP's, not the practice's the example was written for: the specialist calls back there.
    for contained in resource["contained"]:
        if contained["resourceType"] == "Organization":
            contained["name"] = post.name
        elif contained["resourceType"] == "PractitionerRole":
            contained["practitioner"]["display"] = gp.name
            contained["organization"]["display"] = post.name
    patient = next(c for c in resource["contained"] if c["resourceType"] == "Patient")
    patient["gender"] = "male"
    patient["generalPractitioner"] = [{"type": "Organization", "display": own_practice.name, "identifier": {
        "system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": own_practice.agb}}]
    submit_consult(session, CLI_ACTOR, post, client.id, resource, Resolver(session, post.id, resource), now,
                   if_none_exist=(resource["identifier"][0]["system"], "HAP-DEMO-1"))
