"""Every FHIR search parameter and inbox filter is served by an index, checked on PostgreSQL's own plans.

The statements checked are the ones the service really runs: they are captured while the request is answered,
then explained with sequential scans priced out (``enable_seqscan = off``, and merge and hash joins) over a
few thousand consults spread like a region's. PostgreSQL still chooses a sequential scan where no index can
serve a condition, so a "Seq Scan" on one of our tables in such a plan means a missing index, and would be a
full table read with a million consults (so would a walk of a whole index without a condition). For each
search parameter the column it filters on must also appear in an index condition.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_appointments import ecms_request, propose
from tests.web.test_actions import post
from tests.web.test_inbox import log_in

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
#: Tables that grow with the number of consults (organisations, users and agreements stay small).
BIG_TABLES = {"consults", "consult_tasks", "consult_messages", "consult_identifiers", "appointments",
              "stored_resources", "consult_facts", "routing_decisions"}


@pytest.fixture
def postgres(app: Flask) -> None:
    if app.extensions["triage.engine"].dialect.name != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL (scripts/test runs it there in CI)")


class Statements:
    """The SELECTs the app runs while it is watched."""

    def __init__(self, app: Flask):
        self.engine = app.extensions["triage.engine"]
        self.seen: list[tuple[str, Any]] = []

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._note)

    def _note(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and any(t in statement for t in BIG_TABLES):
            self.seen.append((statement, parameters))


def _plans(app: Flask, statements: list[tuple[str, Any]]) -> Iterator[dict[str, Any]]:
    with app.extensions["triage.engine"].connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            # Priced out too: with a handful of test rows, a merge or hash join over whole indexes looks cheap,
            # while with a million consults the rows a page shows are looked up one by one (nested loop).
            cursor.execute("SET enable_seqscan = off; SET enable_mergejoin = off; SET enable_hashjoin = off")
            for statement, parameters in statements:
                cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
                row = cursor.fetchone()
                assert row is not None
                document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
                yield document[0]["Plan"]
            cursor.execute("RESET enable_seqscan; RESET enable_mergejoin; RESET enable_hashjoin")
        conn.rollback()


def _nodes(plan: dict[str, Any], early_stop: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Each node, and whether a LIMIT above it stops it early (no sort or aggregate in between): an
    ordered walk of an index that stops after a page is not a full read."""
    yield plan, early_stop
    if plan["Node Type"] == "Limit":
        early_stop = True
    elif plan["Node Type"] in ("Sort", "Aggregate", "Hash", "Materialize", "Unique", "SetOp"):
        early_stop = False
    for child in plan.get("Plans", []):
        yield from _nodes(child, early_stop)


def _check(app: Flask, statements: list[tuple[str, Any]], column: str | None) -> list[str]:
    problems: list[str] = []
    conditions = ""
    for plan in _plans(app, statements):
        for node, early_stop in _nodes(plan):
            # A whole-index walk without a condition reads the table as a sequential scan would.
            whole = node["Node Type"] == "Seq Scan" or (node["Node Type"] in ("Index Scan", "Index Only Scan")
                                                        and "Index Cond" not in node and not early_stop)
            if whole and node.get("Relation Name") in BIG_TABLES:
                problems.append(f"{node['Node Type']} of all of {node['Relation Name']} "
                                f"(filter: {node.get('Filter')})")
            conditions += " ".join(str(node.get(k, "")) for k in ("Index Cond", "Recheck Cond")) + " "
    if column and column not in conditions:
        problems.append(f"no index condition on {column} (conditions: {conditions.strip()[:300]})")
    return problems


#: Copies of the test consults the planner should see: enough that its statistics resemble a region's.
COPIES = 4_000


def _copy(model: Any, overrides: dict[str, str], source: str, skip: tuple[str, ...] = ()) -> str:
    """INSERT ... SELECT of a model's rows, with SQL expressions replacing some columns."""
    columns = [c.name for c in model.__table__.columns if c.name not in skip]
    chosen = ", ".join(overrides.get(c, f'src."{c}"') for c in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {model.__tablename__} ({quoted}) SELECT {chosen} FROM {source}"


def _spread(app: Flask) -> None:
    """Many consults across practices, specialists, statuses and months, copied from the ones submitted.

    Copied in SQL rather than submitted: the plans, not the intake, are under test."""
    from triage_service.models import Appointment, Consult, ConsultIdentifier, ConsultMessage, ConsultTask
    from triage_service.models.monitoring import ConsultFact

    g = "g.n"
    with app.extensions["triage.engine"].begin() as conn:
        orgs = [r[0] for r in conn.execute(text("SELECT id FROM organisations ORDER BY id"))]
        pick_org = f"(ARRAY{orgs!r})[1 + ({g} % {len(orgs)})]"
        new_id = f"md5(src.id || {g})::uuid::text"
        conn.execute(text(_copy(Consult, {
            "id": new_id, "organisation_id": pick_org,
            "status": f"(ARRAY['active','completed','revoked'])[1 + {g} % 3]",
            "specialism": f"(ARRAY['0310','0320','0305','0330','0301'])[1 + {g} % 5]",
            "priority": f"(ARRAY['routine','routine','routine','urgent','asap'])[1 + {g} % 5]",
            "requester_agb": f"lpad(({g} % 900)::text, 8, '0')",
            "patient_resource_id": "NULL",
            "created_at": f"src.created_at - ({g} % 700) * interval '1 day'",
            "updated_at": f"src.updated_at - ({g} % 700) * interval '1 day'",
        }, f"consults src CROSS JOIN generate_series(1, {COPIES}) AS g(n) "
           f"WHERE src.id = (SELECT min(id) FROM consults)")))
        conn.execute(text(_copy(ConsultTask, {
            "id": "md5('task' || c.id)::uuid::text", "consult_id": "c.id", "organisation_id": "c.organisation_id",
            "status": "(ARRAY['accepted','in-progress','on-hold','completed','completed','cancelled'])"
                      "[1 + abs(hashtext(c.id)) % 6]",
            "business_status": "(ARRAY['assigned','appointment-proposed','advice-given','advice-acknowledged'])"
                               "[1 + abs(hashtext(c.id)) % 4]",
            "owner_kind": "'practitioner'", "owner_agb": "lpad((abs(hashtext(c.id)) % 400)::text, 8, '0')",
            "updated_at": "c.updated_at", "created_at": "c.created_at",
        }, "consult_tasks src JOIN consults c ON c.id <> src.consult_id "
           "AND NOT EXISTS (SELECT 1 FROM consult_tasks t WHERE t.consult_id = c.id) "
           "WHERE src.id = (SELECT min(id) FROM consult_tasks)")))
        conn.execute(text(_copy(ConsultIdentifier, {
            "consult_id": "c.id", "organisation_id": "c.organisation_id", "value": "'HIS-' || c.id"},
            "consult_identifiers src JOIN consults c ON NOT EXISTS "
            "(SELECT 1 FROM consult_identifiers i WHERE i.consult_id = c.id) "
            "WHERE src.id = (SELECT min(id) FROM consult_identifiers)", skip=("id",))))
        conn.execute(text(_copy(ConsultMessage, {
            "id": "md5('msg' || c.id)::uuid::text", "consult_id": "c.id", "in_response_to_id": "NULL",
            "category": "(ARRAY['request-for-information','information-provided','advice','advice'])"
                        "[1 + abs(hashtext(c.id)) % 4]",
            "sent_at": "c.created_at"}, "consult_messages src JOIN consults c ON c.id <> src.consult_id "
           "WHERE src.id = (SELECT min(id) FROM consult_messages)")))
        conn.execute(text(_copy(Appointment, {
            "id": "md5('appt' || c.id)::uuid::text", "consult_id": "c.id", "organisation_id": "c.organisation_id",
            "replaces_id": "NULL", "start": "c.created_at + interval '2 days'",
            "end": "c.created_at + interval '2 days 20 minutes'",
            "status": "(ARRAY['proposed','booked','cancelled','fulfilled','noshow'])[1 + abs(hashtext(c.id)) % 5]",
            "updated_at": "c.updated_at"},
            "appointments src JOIN consults c ON c.id <> src.consult_id AND abs(hashtext(c.id)) % 10 = 0 "
            "WHERE src.id = (SELECT min(id) FROM appointments)")))
        # The dashboard's fact rows, one per consult, over the same two years; a few zorggroep ids beside the
        # real one, as a database serving several zorggroepen holds.
        conn.execute(text(_copy(ConsultFact, {
            "consult_id": "c.id", "created_at": "c.created_at", "practice_id": "c.organisation_id",
            "zorggroep_id": "CASE WHEN abs(hashtext(c.id)) % 4 = 0 THEN src.zorggroep_id "
                            "ELSE md5('zg' || abs(hashtext(c.id)) % 3)::uuid::text END",
            "week": "src.week - (EXTRACT(EPOCH FROM src.created_at - c.created_at) / 604800)::int",
            "state": "(ARRAY['open','completed','completed','rejected'])[1 + abs(hashtext(c.id)) % 4]",
            "specialism": "c.specialism", "priority": "c.priority",
            "due_at": "c.created_at + interval '2 days'",
        }, "consult_facts src JOIN consults c ON NOT EXISTS (SELECT 1 FROM consult_facts f WHERE f.consult_id = c.id) "
           "WHERE src.consult_id = (SELECT min(consult_id) FROM consult_facts)")))
    # VACUUM as autovacuum would have by now: with the visibility map set, index-only scans become cheap, and
    # the planner once chose to walk a whole index with a filter for the inbox's tab counts.
    engine = app.extensions["triage.engine"]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


@pytest.fixture
def world(gp: GPSystem, consult_request: dict, app: Flask, clock: FrozenClock, postgres: None) -> FlaskClient:
    """A region's worth of consults, threads and appointments, so the planner plans as it would in use."""
    first = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER)).get_json()["id"]
    consult_id = gp.post("/fhir/ServiceRequest", ecms_request(consult_request)).get_json()["id"]
    specialist = app.test_client()
    assert log_in(specialist, clock).status_code == 302
    propose(specialist, consult_id, clock, 48, 72)
    post(specialist, first, "ask", question="Sinds wanneer?")
    _spread(app)
    return specialist


GP_SEARCHES: list[tuple[str, str | None]] = [
    ("/fhir/Task?status=accepted", "status"),
    ("/fhir/Task?business-status=appointment-proposed", "business_status"),
    ("/fhir/Task?owner=03100001", "owner_agb"),
    ("/fhir/Task?requester=01012345", "requester_agb"),
    ("/fhir/Task?focus=ServiceRequest/00000000-0000-0000-0000-000000000000", "consult_id"),
    ("/fhir/Task?_lastUpdated=ge2026-11-01", "updated_at"),
    ("/fhir/Task?patient=Patient/00000000-0000-0000-0000-000000000000", "patient_resource_id"),
    ("/fhir/ServiceRequest?identifier=HIS-1", "value"),
    ("/fhir/ServiceRequest?patient=Patient/00000000-0000-0000-0000-000000000000", "patient_resource_id"),
    ("/fhir/ServiceRequest?status=active", "status"),
    ("/fhir/Communication?based-on=ServiceRequest/00000000-0000-0000-0000-000000000000", "consult_id"),
    # Four values: never selective; PostgreSQL rightly reaches the messages through the practice's consults.
    ("/fhir/Communication?category=advice", None),
    ("/fhir/Communication?sent=ge2026-11-01", "sent_at"),
    ("/fhir/Appointment?based-on=ServiceRequest/00000000-0000-0000-0000-000000000000", "consult_id"),
    ("/fhir/Appointment?status=proposed", "status"),
    ("/fhir/Appointment?date=ge2026-11-01", "start"),
    ("/fhir/Appointment?_lastUpdated=ge2026-11-01", "updated_at"),
]


@pytest.mark.parametrize(("url", "column"), GP_SEARCHES, ids=[u.split("/fhir/")[1] for u, _ in GP_SEARCHES])
def test_each_fhir_search_parameter_is_served_by_an_index(postgres: None, app: Flask, gp: GPSystem,
                                                          world: FlaskClient, url: str, column: str | None) -> None:
    with Statements(app) as watched:
        assert gp.get(url).status_code == 200
    assert not _check(app, watched.seen, column)


INBOX_VIEWS = ["/inbox", "/inbox?view=group", "/inbox?view=answered", "/inbox?priority=urgent",
               "/inbox?specialism=0310"]


@pytest.mark.parametrize("url", INBOX_VIEWS)
def test_each_inbox_view_and_filter_is_served_by_indexes(postgres: None, app: Flask, world: FlaskClient,
                                                         url: str) -> None:
    with Statements(app) as watched:
        assert world.get(url).status_code == 200
    assert not _check(app, watched.seen, None)


NOVEMBER = "/dashboard?from=01-11-2026&to=30-11-2026"
DASHBOARD_VIEWS = [NOVEMBER, f"{NOVEMBER}&group_by=week", f"{NOVEMBER}&group_by=specialist",
                   "/dashboard?from=01-01-2026&to=31-12-2026&group_by=practice"]


@pytest.mark.parametrize("url", DASHBOARD_VIEWS)
def test_each_dashboard_view_reads_the_facts_of_its_window_through_an_index(
        postgres: None, app: Flask, world: FlaskClient, clock: FrozenClock, url: str) -> None:
    from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF

    staff = app.test_client()
    assert log_in(staff, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3]).status_code == 302
    with Statements(app) as watched:
        assert staff.get(url).status_code == 200
    assert [s for s, _ in watched.seen if "consult_facts" in s], "the dashboard read no facts"
    assert not _check(app, watched.seen, None)


def test_an_intake_reads_what_routing_needs_through_indexes(postgres: None, app: Flask, gp: GPSystem,
                                                            world: FlaskClient, consult_request: dict) -> None:
    # Each candidate's open work and when they were last assigned one: on every intake, whatever the history.
    with Statements(app) as watched:
        assert gp.post("/fhir/ServiceRequest", new_request(consult_request)).status_code == 201
    assert [s for s, _ in watched.seen if "routing_decisions" in s], "the intake read no routing decisions"
    assert not _check(app, watched.seen, None)
