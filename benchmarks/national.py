"""A whole country's consults in one PostgreSQL database, and what the service's daily questions cost there (issue 25).

Run: .venv/bin/python benchmarks/national.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/triage_national
         [--consults 5000000] [--years 5] [--practices 4800] [--zorggroepen 50] [--specialists 1500]
         [--burst 150000] [--processes 2] [--keep] [--reuse] [--output FILE]
     (the database is created and dropped; --keep keeps it and the instance folder, --reuse measures a kept one again)

What it builds: ``init-db`` and ``load-demo`` on a fresh database, then the country around the demo: zorggroepen with
a copy of the demo's consult agreements each, practices, specialists, and ``--consults`` consults over ``--years``
years up to the demo's "today", loaded with COPY by ``--processes`` processes (benchmarks/national_data.py says
what one consult brings and how it is encrypted and chained). The last ``--burst`` consults are one zorggroep's
month for one insurer, so that a month of more than 100,000 declaration lines can be closed. Then VACUUM ANALYZE,
as autovacuum would leave it, and the bytes per consult.

What it measures, each beside a plain aggregate in the same run:
- the service under gunicorn (benchmarks/serving.py's settings), one client at a time: dr. Visser's inbox; the GP
  system's Task search by patient and by practice; one more text intake (no target; it shows what routing costs
  with the country's open work in the database);
- in process: one month's monitoring for one zorggroep (beside ``COUNT ... GROUP BY`` over the same month's fact
  rows, and over the whole consults table), closing a month of the burst's size, and one patient's audit trail.
Targets (the issue's): inbox < 50 ms; Task search by patient and by practice < 50 ms; monitoring within 3x of the
plain count; closing 100,000 lines < 5 s; one patient's audit trail < 100 ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bodies import consult_body
from harness import (
    FHIR_JSON,
    HOST,
    ROOT,
    Server,
    drop_database,
    free_port,
    gp_token,
    log_in,
    prepare_database,
    service_env,
    stop_all_servers,
    target_line,
)
from load import RequestPlan, run_sequential
from national_data import AUDIT_PER_CONSULT, EXAMPLE, World, audit_rows, bsn_of, consult_rows

CHUNK = 5_000
TABLES = ("stored_resources", "consults", "consult_identifiers", "consult_tasks", "routing_decisions",
          "consult_messages", "consult_facts")


def _app(instance: Path, url: str) -> Any:
    from triage_service import create_app
    from triage_service.settings import load_settings

    return create_app(load_settings(instance_path=instance, database_url=url))


def load_slice(world_json: str, instance: str, url: str, first: int, last: int) -> None:
    """Consults ``first`` to ``last`` (exclusive), COPY per table and chunk, one transaction per chunk."""
    from triage_service.database import append_rows
    from triage_service.models.base import Base

    world = World.from_json(world_json)
    app = _app(Path(instance), url)
    factory = app.extensions["triage.sessionmaker"]
    template = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for begin in range(first, last, CHUNK):
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        for i in range(begin, min(last, begin + CHUNK)):
            for name, values in consult_rows(world, i, template).items():
                rows[name].extend(values)
        with factory() as session:  # the service's own COPY: each value bound (and encrypted) by its column type
            for name in TABLES:
                append_rows(session, Base.metadata.tables[name], rows[name])
            session.commit()


def load_audit(world_json: str, instance: str, url: str) -> None:
    """Every consult's audit entries, chained in consult order onto the demo's trail (one process: one chain)."""
    from types import SimpleNamespace

    from triage_service.audit import keys as audit_keys
    from triage_service.audit.chain import entry_digest, head
    from triage_service.database import append_rows, session_scope
    from triage_service.models.base import Base

    world = World.from_json(world_json)
    app = _app(Path(instance), url)
    factory = app.extensions["triage.sessionmaker"]
    keys = audit_keys.current()
    with session_scope(app) as session:
        index, previous = head(session) or (0, "0" * 64)
    batch: list[dict[str, Any]] = []
    for i in range(world.consults):
        for values in audit_rows(world, i):
            index, prev = index + 1, previous
            entry = SimpleNamespace(**values, chain_index=index, prev_hash=prev, hash_key=keys.active)
            previous = entry_digest(entry, prev, keys)  # type: ignore[arg-type]
            batch.append({**values, "chain_index": index, "prev_hash": prev, "entry_hash": previous,
                          "hash_key": keys.active})
        if len(batch) >= CHUNK * AUDIT_PER_CONSULT or i == world.consults - 1:
            with factory() as session:
                append_rows(session, Base.metadata.tables["audit_entries"], batch)
                session.commit()
            batch = []


def build_world(app: Any, args: argparse.Namespace, now: datetime) -> World:
    """Zorggroepen (each with a copy of the demo's consult agreements), practices and specialists around the
    demo's own: the demo's zorggroep, De Linde and dr. Visser are number 0 of each."""
    from sqlalchemy import insert, select

    from triage_service.database import session_scope
    from triage_service.models import Agreement, ApiClient, Organisation, OrganisationKind

    with session_scope(app) as session:
        home = session.scalars(select(Agreement).where(Agreement.code == "MKC-DERM")).one()
        demo = [a for a in session.scalars(select(Agreement).where(Agreement.zorggroep_id == home.zorggroep_id))
                if a.profiles and a.code.startswith("MKC")]
        agreements0 = [(a.id, a.profiles[0].specialism, a.profiles[0].id) for a in demo]
        rows = [{c.name: getattr(a, c.key) for c in Agreement.__table__.c} for a in demo]
        linde = session.scalars(select(Organisation).where(Organisation.agb == "03012345")).one()
        client_pk = session.scalars(select(ApiClient.id).where(ApiClient.organisation_id == linde.id)).first()
        zorggroepen = [(home.zorggroep_id, agreements0)]
        organisations: list[dict[str, Any]] = []
        clones: list[dict[str, Any]] = []
        for z in range(1, args.zorggroepen):
            zid = str(uuid.uuid4())
            organisations.append({"id": zid, "kind": OrganisationKind.ZORGGROEP, "name": f"Zorggroep {z}",
                                  "agb": f"0788{z:04d}"})
            mine = []
            for row, (_, specialism, profile_id) in zip(rows, agreements0, strict=True):
                clone = {**row, "id": str(uuid.uuid4()), "code": f"{row['code']}-Z{z}", "zorggroep_id": zid}
                clones.append(clone)
                mine.append((clone["id"], specialism, profile_id))
            zorggroepen.append((zid, mine))
        practices = [(linde.id, "03012345")]
        for p in range(1, args.practices):
            pid = str(uuid.uuid4())
            organisations.append({"id": pid, "kind": OrganisationKind.GP_PRACTICE, "name": f"Huisartsenpraktijk {p}",
                                  "agb": f"0377{p:04d}"})
            practices.append((pid, f"0377{p:04d}"))
        session.execute(insert(Organisation), organisations)
        session.execute(insert(Agreement), clones)
    specialists = [("03100001", "dr. L. Visser")] + [(f"0398{s:04d}", f"specialist {s}")
                                                    for s in range(1, args.specialists)]
    month = _previous_month(now)
    return World(start=now - timedelta(days=365 * args.years), end=now, consults=args.consults,
                 practices=practices, zorggroepen=zorggroepen, specialists=specialists, client_pk=str(client_pk),
                 burst=min(args.burst, args.consults // 2), burst_month=(month.start, month.end))


def _previous_month(now: datetime) -> Any:
    from triage_service.reports.periods import Month
    from triage_service.routing.working_time import AMSTERDAM

    local = now.astimezone(AMSTERDAM)
    year, number = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return Month(year, number)


def load(world: World, instance: Path, url: str, processes: int) -> float:
    """Every process its share of the consults, and one the audit trail; returns the seconds it took."""
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    bounds = [world.consults * k // processes for k in range(processes + 1)]
    jobs = [context.Process(target=load_slice, args=(world.as_json(), str(instance), url, bounds[k], bounds[k + 1]))
            for k in range(processes)]
    jobs.append(context.Process(target=load_audit, args=(world.as_json(), str(instance), url)))
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
        if job.exitcode != 0:
            raise SystemExit(f"a loading process failed with exit code {job.exitcode}")
    return time.perf_counter() - started


def best_ms(fn: Callable[[], Any], repeats: int = 5) -> tuple[float, Any]:
    """The fastest of ``repeats`` runs in milliseconds (the first run warms the caches as a busy service has
    them warm), and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        best = min(best, (time.perf_counter() - began) * 1000)
    return best, result


def sizes(app: Any, consults: int) -> list[str]:
    from sqlalchemy import text

    with app.extensions["triage.engine"].connect() as conn:
        total = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
        tables = conn.execute(text(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC LIMIT 8")).all()
    lines = [f"database: {total / 1e9:.1f} GB, {total / consults:,.0f} bytes per consult"]
    lines += [f"  {name}: {size / 1e9:.2f} GB ({size / consults:,.0f} bytes per consult)" for name, size in tables]
    return lines


def patient_with_consults(world: World) -> tuple[int, list[int]]:
    """A patient of De Linde (practice 0) with two consults, as the GP system's search by patient finds."""
    for i in range(2, world.consults - world.burst, 3):
        n = world.patient_of(i)
        if world.practice_of_patient(n) == 0:
            return n, [i - 1, i]
    raise SystemExit("no patient of De Linde with two consults: generate more consults")


def measure(app: Any, world: World, instance: Path, url: str, workdir: Path) -> list[str]:
    from national_data import _uuid
    from sqlalchemy import func, select, text

    from triage_service.audit.queries import patient_history
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.database import session_scope
    from triage_service.demo import DEMO_PASSWORD, DEMO_USERS
    from triage_service.models import ConsultFact
    from triage_service.reports.declarations import close_month
    from triage_service.reports.monitoring import GroupBy, Window, monitoring
    from triage_service.reports.periods import Month

    factory = app.extensions["triage.sessionmaker"]
    out: list[str] = []
    zorggroep = world.zorggroepen[0][0]
    burst = _previous_month(world.end)
    regular = _previous_month(burst.start)

    def plain_count() -> Any:
        with factory() as session:
            return session.execute(text("SELECT consult_form, COUNT(*) FROM consults GROUP BY consult_form")).all()

    def month_count(month: Month) -> Callable[[], Any]:
        def run() -> Any:
            with factory() as session:
                return session.execute(select(ConsultFact.consult_form, func.count()).where(
                    ConsultFact.zorggroep_id == zorggroep, ConsultFact.created_at >= month.start,
                    ConsultFact.created_at < month.end).group_by(ConsultFact.consult_form)).all()
        return run

    def month_monitoring(month: Month) -> Callable[[], Any]:
        def run() -> Any:
            with factory() as session:
                return monitoring(session, zorggroep, Window(month.start, month.end), GroupBy.TOTAL, month.end)
        return run

    whole, _ = best_ms(plain_count, 3)
    out.append(f"baseline: COUNT ... GROUP BY consult_form over all {world.consults:,} consults: {whole:,.0f} ms")
    for label, month in (("a regular month", regular), ("the burst month", burst)):
        base, counted = best_ms(month_count(month))
        took, _ = best_ms(month_monitoring(month))
        n = sum(c for _, c in counted)
        out.append(f"monitoring, {label} ({month}, {n:,} consults of one zorggroep): {took:,.1f} ms; the plain "
                   f"COUNT ... GROUP BY over the same month's facts {base:,.1f} ms")
        out.append(target_line(f"one month's monitoring within 3x of the plain COUNT ... GROUP BY ({label})",
                               took <= 3 * base, f"{took / base:.1f}x ({took:,.1f} ms against {base:,.1f} ms)"))

    with session_scope(app) as session:  # the month before, as a zorggroep that closes every month has done
        close_month(session, CLI_ACTOR, "benchmark", zorggroep, "3311", regular, world.end)
    began = time.perf_counter()
    with session_scope(app) as session:
        lines = close_month(session, CLI_ACTOR, "benchmark", zorggroep, "3311", burst, world.end).line_count
    closing = time.perf_counter() - began
    out.append(target_line(f"closing a month of 100,000 lines under 5 s ({lines:,} lines)",
                           closing < 5 and lines >= 100_000, f"{closing:.1f} s"))

    patient_n, consults_of_patient = patient_with_consults(world)
    def trail_of_patient() -> Any:
        with factory() as session:
            return patient_history(session, bsn_of(patient_n))

    trail, history = best_ms(trail_of_patient)
    out.append(target_line("one patient's audit trail under 100 ms", trail < 100,
                           f"{trail:.1f} ms for {len(history)} entries"))

    port = free_port()
    env = service_env(instance, url, port, 2)
    server = Server("service", "triage_service:create_app()", env, port, workdir / "service.log")
    server.wait_ready("/fhir/metadata")
    token = gp_token(port, instance)
    fhir = (("Authorization", f"Bearer {token}"), ("Accept", FHIR_JSON))
    username, _, _, secret = DEMO_USERS[0]
    cookie = log_in(port, username, DEMO_PASSWORD, secret)
    pid = _uuid(3, patient_n)
    plans = [
        ("the inbox of dr. Visser (GET /inbox)", RequestPlan("GET", ("/inbox",), cookie=cookie), 50),
        (f"Task search by patient (GET /fhir/Task?patient=..., {len(consults_of_patient)} Tasks)",
         RequestPlan("GET", (f"/fhir/Task?patient=Patient/{pid}",), fhir), 50),
        ("Task search by practice (GET /fhir/Task?_count=20, De Linde's newest)",
         RequestPlan("GET", ("/fhir/Task?_count=20",), fhir), 50),
    ]
    try:
        for label, plan, count in plans:
            result = run_sequential(label, HOST, port, plan, count)
            if result.errors:
                raise SystemExit(f"{label}: {result.first_error}")
            out.append(target_line(f"{label} under 50 ms, one client", result.median_ms < 50,
                                   f"median {result.median_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"))
        intake = RequestPlan("POST", ("/fhir/ServiceRequest",), (*fhir, ("Content-Type", FHIR_JSON)),
                             json.dumps(consult_body()).encode(), expect=(201,))
        result = run_sequential("intake", HOST, port, intake, 50)
        out.append(f"- (no target) one text intake with the country in the database, one client: median "
                   f"{result.median_ms:.1f} ms, p99 {result.p99_ms:.1f} ms ({result.errors} errors)")
    finally:
        stop_all_servers()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to create (and drop)")
    parser.add_argument("--consults", type=int, default=5_000_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--practices", type=int, default=4_800)
    parser.add_argument("--zorggroepen", type=int, default=50)
    parser.add_argument("--specialists", type=int, default=1_500)
    parser.add_argument("--burst", type=int, default=150_000,
                        help="one zorggroep's consults in the last month (150,000 close into about 100,000 lines)")
    parser.add_argument("--processes", type=int, default=2, help="processes loading consults (plus one for audit)")
    parser.add_argument("--workdir", type=Path, default=None, help="instance folder's parent (kept with --keep)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database and --workdir again")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="triage-national-"))
    instance = workdir / "instance"
    world_file = workdir / "world.json"
    url = args.database_url
    report: list[str] = []
    try:
        if not args.reuse:
            workdir.mkdir(parents=True, exist_ok=True)
            url = prepare_database(args.database_url, workdir)
            env = service_env(instance, url, 0, 2)
            for command in ("init-db", "load-demo"):
                subprocess.run([sys.executable, "-m", "triage_service.cli", command], env=env, cwd=ROOT, check=True,
                               stdout=subprocess.DEVNULL)
            app = _app(instance, url)
            world = build_world(app, args, datetime.now(UTC))
            world_file.write_text(world.as_json(), encoding="utf-8")
            seconds = load(world, instance, url, args.processes)
            began = time.perf_counter()
            with app.extensions["triage.engine"].connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
            report.append(f"loaded {world.consults:,} consults ({world.consults * AUDIT_PER_CONSULT:,} audit entries) "
                          f"with COPY in {seconds:,.0f} s ({world.consults / seconds:,.0f} consults/s, "
                          f"{args.processes + 1} processes); VACUUM ANALYZE {time.perf_counter() - began:,.0f} s")
        else:  # the schema brought up to this checkout's migrations first, as an upgrade would
            subprocess.run([sys.executable, "-m", "triage_service.cli", "init-db"],
                           env=service_env(instance, url, 0, 2), cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            app = _app(instance, url)
            world = World.from_json(world_file.read_text(encoding="utf-8"))
            with app.extensions["triage.engine"].begin() as conn:  # the months are closed again below
                conn.exec_driver_sql("DELETE FROM declaration_lines")
                conn.exec_driver_sql("DELETE FROM declaration_batches")
        report += sizes(app, world.consults)
        report += measure(app, world, instance, url, workdir)
    finally:
        stop_all_servers()
        if not args.keep:
            drop_database(url)
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir} and {url}")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join([f"### National: {world.consults:,} consults, {len(world.practices):,} practices, "
                      f"{len(world.zorggroepen)} zorggroepen, {len(world.specialists):,} specialists "
                      f"({when}, {os.cpu_count()} cores)", "", *report])
    print("\n" + text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
