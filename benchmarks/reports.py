"""Reports over a year of a large region: 1,000,000 consults (issue 7).

Run: .venv/bin/python benchmarks/reports.py [--consults 1000000] [--database-url URL]
     (no URL: a fresh SQLite file; for PostgreSQL e.g. postgresql+psycopg://postgres@127.0.0.1:5432/triage_bench,
      a database this script creates and empties)

Measured, each beside the baseline of a plain ``SELECT consult_form, COUNT(*) FROM consults GROUP BY
consult_form`` over the same table in the same run (the ratio is the figure; the target for the
monitoring is within 3x). The same count grouped by ``specialism`` is shown too: an index covers that
column, so it reads only the index and is the cheapest aggregate the table allows.
- closing November for the largest insurer and rendering its CSV (the month's declaration export);
- the monitoring report for November (all figures, one group) and for the year by week.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from triage_service import create_app
from triage_service.audit.trail import CLI_ACTOR
from triage_service.database import session_scope
from triage_service.demo import load_demo
from triage_service.migrate import upgrade_database
from triage_service.models import Agreement, Consult, ConsultTask, Organisation, OrganisationKind
from triage_service.reports.declarations import close_month
from triage_service.reports.exports import batch_csv
from triage_service.reports.facts import rebuild_facts
from triage_service.reports.monitoring import GroupBy, Window, monitoring
from triage_service.reports.periods import Month, local_midnight
from triage_service.settings import load_settings

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
OUTCOMES = ["primary-care-advice"] * 6 + ["referral-indicated"] * 2 + ["ecms", "not-suitable"]


def fresh_database(url: str | None, workdir: Path) -> str:
    if not url:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return url


#: dr. Visser, the demo dermatologist: every generated consult is hers unless ``owners`` spreads them.
VISSER = ("03100001", "dr. L. Visser")


def generate(app: Any, count: int, rng: random.Random, owners: int = 1) -> None:
    """``count`` consults over 2026, 90% answered. With ``owners`` > 1 they are spread evenly over dr. Visser
    and ``owners - 1`` fictitious specialists, as a region's consults are spread over its specialists."""
    people = [VISSER, *((f"0399{n:04d}", f"specialist {n}") for n in range(1, owners))]
    with session_scope(app) as session:
        agreements = [(a.id, a.profiles[0].specialism, a.profiles[0].id) for a in session.scalars(
            select(Agreement)) if a.profiles and a.code.startswith("MKC")]
        practices = [(o.id, o.agb) for o in session.scalars(
            select(Organisation).where(Organisation.kind == OrganisationKind.GP_PRACTICE))]
        client_pk = session.scalar(text("SELECT id FROM api_clients LIMIT 1"))
    engine = app.extensions["triage.engine"]
    chunk = 20_000
    for begin in range(0, count, chunk):
        consults, tasks = [], []
        for _ in range(min(chunk, count - begin)):
            cid = str(uuid.uuid4())
            created = YEAR_START + timedelta(seconds=rng.randint(0, 365 * 86400 - 1))
            agreement_id, specialism, profile_id = rng.choice(agreements)
            organisation_id, _ = rng.choice(practices)
            answered = rng.random() < 0.9
            declined = answered and rng.random() < 0.03
            outcome = "not-suitable" if declined else (rng.choice(OUTCOMES) if answered else None)
            completed = created + timedelta(hours=rng.expovariate(1 / 20)) if answered and not declined else None
            status = "rejected" if declined else ("completed" if completed else "accepted")
            consults.append({
                "id": cid, "organisation_id": organisation_id, "client_pk": client_pk,
                "status": "completed" if completed else "active", "category": "meekijkconsult",
                "consult_form": rng.choice(["e-consult", "e-consult", "intercollegial-consult", "ecms"]),
                "specialism": specialism, "priority": rng.choice(["routine"] * 8 + ["urgent", "asap"]),
                "authored_at": created, "gp_intent": rng.choice(["would-refer", "would-not-refer", "unsure"]),
                "conversion_authorised": True, "icpc_codes": ["S82"], "primary_icpc": "S82",
                "patient_birth_date": datetime(1950 + rng.randint(0, 60), 1, 1).date(), "patient_gender": "female",
                "insurer_uzovi": rng.choice(["3311", "3311", "3343"]), "requester_agb": "01012345",
                "photo_count": 0, "agreement_id": agreement_id, "profile_id": profile_id, "outcome": outcome,
                "converted_to_referral": outcome == "referral-indicated" if completed else None,
                "completed_at": completed, "version_id": 1, "resource": {}, "created_at": created,
                "updated_at": completed or created})
            tasks.append({
                "id": str(uuid.uuid4()), "consult_id": cid, "organisation_id": organisation_id, "status": status,
                "business_status": "advice-given" if completed else "assigned", "owner_kind": "practitioner",
                "owner_agb": (owner := rng.choice(people))[0], "owner_name": owner[1],
                "due_at": created + timedelta(hours=48), "urgent": consults[-1]["priority"] != "routine",
                "likely_referral": rng.random() < 0.2, "version_id": 1, "created_at": created,
                "updated_at": completed or created})
        with engine.begin() as conn:
            conn.execute(insert(Consult), consults)
            conn.execute(insert(ConsultTask), tasks)


def timed(fn: Any, repeats: int = 3) -> tuple[float, Any]:
    """Best of ``repeats`` wall-clock runs, in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--consults", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    url = fresh_database(args.database_url, workdir)
    app = create_app(load_settings(env="test", instance_path=workdir, database_url=url))
    engine = app.extensions["triage.engine"]
    upgrade_database(engine)
    with session_scope(app) as session:
        load_demo(session, app.extensions["triage.settings"])
    started = time.perf_counter()
    generate(app, args.consults, random.Random(7))
    generated = time.perf_counter() - started
    with session_scope(app) as session:
        rebuild_facts(session)  # the bulk load bypassed the ORM that keeps them in step
    print(f"{engine.dialect.name}: generated {args.consults:,} consults in {generated:.0f} s, their monitoring "
          f"facts in {time.perf_counter() - started - generated:.0f} s")
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))

    factory = app.extensions["triage.sessionmaker"]

    def baseline(column: str) -> Any:
        grouped = Consult.__table__.c[column]  # a column object, so no SQL is built from text
        with factory() as session:
            return session.execute(select(grouped, func.count()).group_by(grouped)).all()

    base, _ = timed(lambda: baseline("consult_form"))
    indexed, _ = timed(lambda: baseline("specialism"))
    with session_scope(app) as session:
        zorggroep = session.scalar(select(Organisation.id).where(Organisation.kind == OrganisationKind.ZORGGROEP))
    assert zorggroep is not None
    november = Month(2026, 11)

    def month_monitoring() -> Any:
        with factory() as session:
            return monitoring(session, zorggroep, Window(november.start, november.end), GroupBy.TOTAL, november.end)

    def year_by_week() -> Any:
        with factory() as session:
            year_end = local_midnight(datetime(2027, 1, 1).date())
            return monitoring(session, zorggroep, Window(YEAR_START, year_end), GroupBy.WEEK, year_end)

    month_time, report = timed(month_monitoring)
    year_time, weekly = timed(year_by_week)
    for number in range(1, 11):  # January to October were declared in their own months
        with session_scope(app) as session:
            close_month(session, CLI_ACTOR, "benchmark", zorggroep, "3311", Month(2026, number),
                        datetime(2026, 12, 1, tzinfo=UTC))
    started = time.perf_counter()
    with session_scope(app) as session:
        batch = close_month(session, CLI_ACTOR, "benchmark", zorggroep, "3311", november,
                            datetime(2026, 12, 2, tzinfo=UTC))
        batch_id, lines = batch.id, batch.line_count
    close_time = time.perf_counter() - started

    def export() -> Any:
        with factory() as session:
            from triage_service.models import DeclarationBatch

            found = session.get(DeclarationBatch, batch_id)
            assert found is not None
            return batch_csv(session, found)

    csv_time, csv_text = timed(export)
    print(f"baseline  COUNT ... GROUP BY consult_form over {args.consults:,} consults: {base * 1000:8.1f} ms")
    print(f"(the same GROUP BY specialism, read from an index alone:          {indexed * 1000:8.1f} ms)")
    print(f"monitoring, November ({report['groups'][0]['consults']:,} consults):   "
          f"{month_time * 1000:8.1f} ms  ({month_time / base:.1f}x baseline, {month_time / indexed:.1f}x index-only)")
    print(f"monitoring, year by week ({len(weekly['groups'])} weeks):       "
          f"{year_time * 1000:8.1f} ms  ({year_time / base:.1f}x baseline)")
    print(f"close November for 3311 ({lines:,} lines):           {close_time * 1000:8.1f} ms  "
          f"({close_time / base:.1f}x baseline)")
    print(f"render its CSV ({len(csv_text) / 1e6:.1f} MB):                     {csv_time * 1000:8.1f} ms  "
          f"({csv_time / base:.1f}x baseline)")


if __name__ == "__main__":
    main()
