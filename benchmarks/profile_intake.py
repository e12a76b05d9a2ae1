"""Where the CPU of one text consult intake goes (issue 25, point 1: profile first, then cut).

Run: .venv/bin/python benchmarks/profile_intake.py [--database-url URL] [--requests 300] [--top 40]
     (no URL: SQLite in a throw-away instance folder; for PostgreSQL e.g.
      postgresql+psycopg://postgres@127.0.0.1:5432/triage_bench_profile, a database this script creates and drops)

The service in this process (``create_app``, migrations, ``load_demo``), driven through Flask's test client
with the demo GP system's bearer token: the same request handling as under gunicorn, without the network and
the worker, which cost the same with or without our code (serving.py measures those beside the baseline).
``--requests`` intakes of the demo example (a new HIS identifier each) are timed one at a time after a warm-up,
then as many again under cProfile; printed: the median and mean wall time per intake, the SQL statements per
intake, and the functions with the most cumulative and own time. cProfile adds its own overhead per call, so
its times are relative: compare the shares, not the milliseconds, with the timed run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

EXAMPLE = ROOT / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"
SCOPES = "system/ServiceRequest.write system/ServiceRequest.read system/Task.read"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--statements", action="store_true", help="print the SQL of one intake, then stop")
    parser.add_argument("--cpu", action="store_true",
                        help="CPU per intake of this process and of the PostgreSQL server's processes, then stop")
    parser.add_argument("--calls", action="store_true",
                        help="function calls and SQL statements per intake (the same on a busy or a quiet machine), "
                             "then stop")
    parser.add_argument("--lock-hold", action="store_true",
                        help="time how long each intake holds the audit chain's lock (PostgreSQL), then stop")
    parser.add_argument("--save", type=Path, default=None, help="also write the raw profile (pstats) to this file")
    args = parser.parse_args()

    from harness import drop_database, prepare_database
    from sqlalchemy import event

    from triage_service import create_app
    from triage_service.accounts.registration import client_assertion
    from triage_service.database import session_scope
    from triage_service.demo import load_demo
    from triage_service.migrate import upgrade_database
    from triage_service.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="triage-profile-") as work:
        workdir = Path(work)
        instance = workdir / "instance"
        url = prepare_database(args.database_url, workdir) if args.database_url else ""
        settings = load_settings(instance_path=instance, **({"database_url": url} if url else {}))
        app = create_app(settings)
        engine = app.extensions["triage.engine"]
        try:
            upgrade_database(engine)
            with session_scope(app) as session:
                client = load_demo(session, settings)[0]
            http = app.test_client()
            endpoint = "http://localhost/oauth/token"  # the test client's host: no public base URL is set
            assertion = client_assertion(client.client_id, client.key_file.read_bytes(), endpoint,
                                         datetime.now(UTC), kid=client.kid)
            answer = http.post("/oauth/token", data=urlencode({
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion, "scope": SCOPES}),
                content_type="application/x-www-form-urlencoded")
            assert answer.status_code == 200, answer.get_data(as_text=True)
            headers = {"Authorization": f"Bearer {answer.get_json()['access_token']}",
                       "Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
            example: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))

            def intake() -> None:
                body = dict(example, identifier=[dict(example["identifier"][0], value=f"HIS-{uuid.uuid4().hex}")])
                response = http.post("/fhir/ServiceRequest", data=json.dumps(body), headers=headers)
                assert response.status_code == 201, response.get_data(as_text=True)[:500]

            statements = [0]
            seen: list[str] = []

            def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
                statements[0] += 1
                seen.append(" ".join(statement.split())[:160])

            event.listen(engine, "before_cursor_execute", note)
            for _ in range(30):
                intake()  # warm-up: caches, the first compiled statements
            if args.calls:
                print(calls_per_intake(intake, args.requests, statements))
                return
            if args.cpu:
                print(cpu_per_intake(intake, args.requests))
                return
            if args.lock_hold:
                print(lock_hold(app, engine, intake, args.requests))
                return
            if args.statements:
                seen.clear()
                intake()
                print("\n".join(f"{n:2d}. {s}" for n, s in enumerate(seen, 1)))
                return
            statements[0] = 0
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                intake()
                times.append((time.perf_counter() - started) * 1000)
            per_intake = statements[0] / args.requests
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                intake()
            profiler.disable()
            if args.save:
                profiler.dump_stats(args.save)
        finally:
            engine.dispose()
            if url:
                drop_database(url)

    print(f"# Text intake in process, {engine.dialect.name}, {args.requests} requests")
    print(f"median {statistics.median(times):.2f} ms, mean {statistics.fmean(times):.2f} ms, "
          f"{per_intake:.1f} SQL statements per intake")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\n## by {order}\n")
        print(out.getvalue().split("\n", 6)[-1] if order == "cumulative" else out.getvalue())


def _postgres_cpu_seconds() -> float:
    """User and system CPU of every PostgreSQL server process on this machine, from /proc (Linux)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if "postgres" in (stat.parent / "comm").read_text():
                total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we read
    return total / os.sysconf("SC_CLK_TCK")


def cpu_per_intake(intake: Any, requests: int) -> str:
    """What one intake costs in CPU, here (Flask, the service, SQLAlchemy, psycopg) and in PostgreSQL: the
    figures a scale-out estimate divides the cores by. Other PostgreSQL work on the machine counts too, so run it
    on a quiet machine."""
    app_before, pg_before, began = time.process_time(), _postgres_cpu_seconds(), time.perf_counter()
    for _ in range(requests):
        intake()
    app = (time.process_time() - app_before) * 1000 / requests
    pg = (_postgres_cpu_seconds() - pg_before) * 1000 / requests
    wall = (time.perf_counter() - began) * 1000 / requests
    return (f"per intake, {requests} intakes one at a time: {wall:.2f} ms wall, {app:.2f} ms CPU in the service's "
            f"process, {pg:.2f} ms CPU in PostgreSQL")


def calls_per_intake(intake: Any, requests: int, statements: list[int]) -> str:
    """How much work one intake is, counted rather than timed: the Python and C function calls cProfile sees and
    the SQL statements sent. This machine's speed moves by a third from one minute to the next (a shared virtual
    machine), so a cut of a few percent shows in these counts, not in its CPU time."""
    profiler = cProfile.Profile()
    statements[0] = 0
    profiler.enable()
    for _ in range(requests):
        intake()
    profiler.disable()
    calls = pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]  # set by Stats, not in its stub
    return (f"per intake, {requests} intakes one at a time: {calls / requests:,.0f} function calls, "
            f"{statements[0] / requests:.1f} SQL statements")


def lock_hold(app: Any, engine: Any, intake: Any, requests: int) -> str:
    """From the moment the chain's advisory lock is granted to the end of COMMIT, per intake: every audited
    commit of every worker passes through this one at a time, so 1 / hold is the chain's serial ceiling."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    granted: list[float] = []
    holds: list[float] = []

    def after_lock(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "pg_advisory_xact_lock" in statement:
            granted.append(time.perf_counter())

    def committed(_session: Any) -> None:
        if granted:
            holds.append((time.perf_counter() - granted.pop()) * 1000)
            granted.clear()

    event.listen(engine, "after_cursor_execute", after_lock)
    event.listen(Session, "after_commit", committed)
    try:
        for _ in range(requests):
            intake()
    finally:
        event.remove(engine, "after_cursor_execute", after_lock)
        event.remove(Session, "after_commit", committed)
    if not holds:
        return "no advisory lock was taken (SQLite serialises whole write transactions instead)"
    holds.sort()
    median = statistics.median(holds)
    return (f"audit chain lock held per intake (lock granted to COMMIT done), {len(holds)} intakes: median "
            f"{median:.2f} ms, p99 {holds[int(len(holds) * 0.99) - 1]:.2f} ms; serial ceiling of audited commits "
            f"about {1000 / median:,.0f} per second (1 / median hold)")


if __name__ == "__main__":
    main()
