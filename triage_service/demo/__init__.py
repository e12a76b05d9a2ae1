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
    TextSnippet,
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
               "system/Appointment.read", "system/Appointment.write", "system/QuestionnaireResponse.write",
               "system/QuestionnaireResponse.read", "system/Observation.read", "system/MedicationStatement.read",
               "system/AllergyIntolerance.read"]


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

    from triage_service.demo.back_referrals import load_back_referral
    from triage_service.demo.context import load_context_consult
    from triage_service.demo.first_line import load_first_line_consults
    from triage_service.demo.overflow import load_overflowed_consult
    from triage_service.demo.teams import load_team_consults
    from triage_service.demo.urgent import load_urgent_consult

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
    _demo_snippets(session)
    demo_rota(session, session.scalars(select(Agreement)), clock.now())
    _demo_consults(session, practices[0])
    _demo_verdicts(session, practices[0])
    load_first_line_consults(session, settings, practices[0])  # demo/first_line.py: one for each first-line specialist
    load_context_consult(session, settings, practices[0])  # demo/context.py: a cardiology e-consult with context
    load_team_consults(session, practices[0])  # demo/teams.py: the wound-care team's queue and MDO agenda
    load_back_referral(session, practices[0])  # demo/back_referrals.py: the cardiologist hands a patient back
    load_overflowed_consult(session, practices[0])  # demo/overflow.py: answered by the backup (achtervang)
    posts = [org for org in practices if org.kind is OrganisationKind.OUT_OF_HOURS_POST]
    if posts:
        load_urgent_consult(session, posts[0], practices[0])  # demo/urgent.py: the HAP's call-out
    return clients


#: Dr. Visser's standard answers, so the demo shows the snippet buttons above the advice field.
DEMO_SNIPPETS = (
    ("Naevus vervolgen", "Beeld past bij een benigne naevus. Advies: vervolgen met foto's over drie maanden; bij "
                         "groei, kleurverandering of bloeding opnieuw consulteren."),
    ("Eczeem basis", "Advies: dagelijks een indifferente crème, bij exacerbatie twee weken een klasse 2 "
                     "corticosteroïd (triamcinolon 0,1%), daarna afbouwen."),
)


def _demo_snippets(session: Session) -> None:
    user = session.scalar(select(User).where(User.username == DEMO_USERS[0][0]))
    if user is None or session.scalar(select(TextSnippet.id).where(TextSnippet.user_id == user.id).limit(1)):
        return
    now = clock.now()
    for title, text in DEMO_SNIPPETS:
        session.add(TextSnippet(user_id=user.id, title=title, text=text, created_at=now, updated_at=now))


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
    from triage_service.demo.context import add_blood_pressure
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
            add_blood_pressure(resource, now)  # the cardiology agreement asks for one (demo/context.py)
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


#: Consults dr. Visser has answered, three with the GP's verdict, so the dashboard shows verdicts (issue 22):
#: (number, ICPC, display, GP's intent, outcome, verdict as (useful, without the advice, referral still needed)).
DEMO_ANSWERED = (
    ("DEMO-6", "S74", "Dermatomycose", "would-refer", "primary-care-advice", (True, "refer", False)),
    ("DEMO-7", "S82", "Naevus/moedervlek", "would-refer", "primary-care-advice", (True, "not-refer", False)),
    ("DEMO-8", "S82", "Naevus/moedervlek", "unsure", "referral-indicated", (False, "refer", True)),
    ("DEMO-9", "S74", "Dermatomycose", "would-refer", "primary-care-advice", None),
)
DEMO_ADVICE = {"S74": "Beeld past bij een dermatomycose. Advies: terbinafine 250 mg eenmaal daags gedurende twee "
                      "weken; bij onvoldoende effect opnieuw consulteren.",
               "S82": "Beeld past bij een benigne naevus. Advies: vervolgen met foto's over drie maanden; bij groei, "
                      "kleurverandering of bloeding opnieuw consulteren."}


def _demo_verdicts(session: Session, practice: Organisation) -> None:
    """Answered consults of De Linde, each answered by dr. Visser and three judged by dr. Jansen in the portal,
    through the same intake, answer and verdict the doors use (idempotent: what was done is not done again)."""
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.consults.advice import Advice, record_advice
    from triage_service.consults.intake import submit_consult
    from triage_service.consults.practice import practice_actor
    from triage_service.consults.verdicts import find_verdict, give_verdict
    from triage_service.models import TaskStatus
    from triage_service.records.resolution import Resolver
    from triage_service.security.web_auth import inbox_user

    client = session.scalar(select(ApiClient).where(ApiClient.organisation_id == practice.id))
    visser_id = session.scalar(select(User.id).where(User.username == DEMO_USERS[0][0]))
    jansen_id = session.scalar(select(User.id).where(User.username == DEMO_PRACTICE_USERS[0][0]))
    visser = inbox_user(session, visser_id) if visser_id else None
    jansen = inbox_user(session, jansen_id) if jansen_id else None
    if client is None or visser is None or jansen is None:
        return
    now = clock.now()
    answered = []
    for number, icpc, display, intent, outcome, verdict in DEMO_ANSWERED:
        resource = json.loads(DEMO_EXAMPLE.read_text(encoding="utf-8"))
        resource.pop("id")
        resource["identifier"][0]["value"] = f"HIS-{number}"
        resource["authoredOn"] = now.isoformat()
        resource["reasonCode"][0]["coding"][0].update(code=icpc, display=display)
        resource["performer"] = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z",
                                                 "value": DEMO_USERS[0][2]}, "display": DEMO_USERS[0][1]}]
        resource["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = intent
        if icpc == "S74":
            resource["reasonCode"][0]["text"] = "Schilferende, jeukende plekken liezen, niet over op miconazol"
            resource["note"] = [{"text": DEMO_MYCOSIS_NOTE}]
        consult = submit_consult(session, CLI_ACTOR, practice, client.id, resource,
                                 Resolver(session, practice.id, resource), now,
                                 if_none_exist=(resource["identifier"][0]["system"], f"HIS-{number}")).consult
        if consult.task.status is not TaskStatus.COMPLETED:
            referral = ("0310", "routine") if outcome == "referral-indicated" else (None, None)
            record_advice(session, visser, consult.id, Advice(DEMO_ADVICE[icpc], outcome, *referral), now)
        answered.append((consult.id, verdict))
    # The monitoring's fact rows take a verdict only for a consult that existed before the transaction
    # (reports/facts.py): as in real use, the consults are in before the GP judges them.
    session.commit()
    for consult_id, verdict in answered:
        if verdict is not None and find_verdict(session, consult_id) is None:
            useful, without, needed = verdict
            give_verdict(session, practice_actor(jansen, None), practice.id, consult_id,
                         {"useful": useful, "without-advice": without, "referral-still-needed": needed},
                         source="portal", answered_by=jansen.id, now=now)
