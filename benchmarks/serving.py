"""HTTP benchmarks of the real service under gunicorn, each scenario beside a baseline in the same run (issue 9).

Run: .venv/bin/python benchmarks/serving.py [--database-url URL] [--concurrency 20] [--duration 15 | --requests N]
                                         [--quick] [--consults 100000] [--workers 2] [--output FILE]
     (no URL: SQLite in a throw-away instance folder; for PostgreSQL e.g.
      postgresql+psycopg://postgres@127.0.0.1:5432/triage_bench_http, a database this script creates and drops)

What runs: ``triage-service init-db`` and ``load-demo`` on a fresh database and instance folder, then the
service as ``triage-service serve`` runs it (gunicorn with config/gunicorn.conf.py, ``TRIAGE_WORKERS``
sync workers) on a loopback port, with the token and login rate limits raised to 100000/minute and a
one-hour bearer token (so one token lasts a scenario). Load comes from ``--concurrency`` client
processes (benchmarks/load.py), each sending one request at a time over its own http.client
connection; the table gives the median and 99th percentile (nearest rank) of the per-request latency
and the throughput of successful requests. The clients share the machine's cores with the server.

The **baseline** (benchmarks/baseline_app.py) is a minimal Flask app served by gunicorn with the same
config file, so the same worker count, worker class and access log. Per scenario it does only the
unavoidable work: parse the same JSON body, strictly decode the same base64, write what must be kept
to a file with fsync (the service commits durably), read stored records and render the answer; no
authentication, validation, routing, photo cleaning, encryption or audit. The ratio ours/baseline
(of the medians, and of the throughputs) is the figure to compare between runs: absolute times on a
shared 2-core machine vary a lot.

Scenarios: (a) intake of text-only consults (POST /fhir/ServiceRequest, the demo example with a new
HIS identifier each time); (b) transaction Bundles with 3 JPEG photos of about 1 MB as Binary entries,
their DocumentReferences and the consult; (c) the GP system's Task search and Task read; (d) the
specialist's inbox list and consult page with a logged-in session (password, then TOTP); then the
inbox again after inserting ``--consults`` generated consults for the same specialist (the generator of
benchmarks/reports.py), at ``--concurrency`` clients and at one client. Finally the peak memory
(VmHWM) of a gunicorn worker around one 20 MB ``POST /fhir/Binary`` (a PDF, stored as sent, and a
JPEG, decoded and re-encoded), on a second service instance started with attachment and request
limits of 64 MiB, and of a baseline worker around the same upload.

Targets checked: text consult p99 under 100 ms at 20 clients; a 20 MB upload raises a worker's peak
memory by less than 60 MB; inbox median under 50 ms with 100,000 consults in the database.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bodies import big_pdf, consult_body, photo_jpeg, photo_transaction
from harness import (
    FHIR_JSON,
    HOST,
    ROOT,
    Server,
    check,
    drop_database,
    exit_on_signal,
    free_port,
    generate_consults,
    gp_token,
    log_in,
    prepare_database,
    request,
    service_env,
    stop_all_servers,
    target_line,
)
from load import LoadResult, RequestPlan, cookie_header, memory_kib, reset_peak, run_load, run_sequential

BASELINE_APP = "benchmarks.baseline_app:create_app()"
#: Open-loop arrival rates for intake: the issue's "peaks of tens per second at Monday morning".
PEAK_RATES = (20.0, 40.0, 60.0)


# --------------------------------------------------------------------------------------------------
# Plain HTTP for setup (tokens, login, ids); the measured requests go through benchmarks/load.py.


# --------------------------------------------------------------------------------------------------
# Request bodies.


# --------------------------------------------------------------------------------------------------
# The run.

@dataclass(frozen=True)
class Row:
    scenario: str
    ours: LoadResult
    baseline: LoadResult


@dataclass(frozen=True)
class Config:
    concurrency: int
    duration: float | None
    requests: int | None
    sequential: int


def measure(config: Config, label: str, ours_port: int, ours: RequestPlan, base_port: int, baseline: RequestPlan,
            *, heavy: bool = False, clients: int | None = None, rate: float | None = None) -> Row:
    """One scenario against the service, then against the baseline, with the same load."""
    clients = clients or config.concurrency
    count = None if config.requests is None else max(clients, config.requests // (10 if heavy else 1))
    results = []
    for name, port, plan in (("ours", ours_port, ours), ("baseline", base_port, baseline)):
        if clients == 1:
            result = run_sequential(label, HOST, port, plan, count or config.sequential)
        else:
            result = run_load(label, HOST, port, plan, clients, duration=config.duration, requests=count, rate=rate)
        print(f"  {label:<58} {name:<8} median {result.median_ms:8.1f} ms  p99 {result.p99_ms:8.1f} ms  "
              f"{result.throughput:7.1f} req/s  ({result.requests} ok, {result.errors} errors)", flush=True)
        if result.errors:
            print(f"    first error: {result.first_error}", flush=True)
        results.append(result)
    return Row(label, results[0], results[1])


def memory_of_upload(server: Server, token: str | None, data: bytes, content_type: str,
                     warmups: list[tuple[bytes, str]]) -> tuple[float, float]:
    """(MB the peak RSS of the worker that took the upload grew by, that worker's peak in MB).

    Warm-up uploads go first, several, so both workers have loaded Pillow and the crypto code; then
    every worker's peak is reset to its current RSS, one upload is sent, and the largest growth of a
    worker's peak is the upload's cost."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for body, kind in warmups:
        status, _, answer = request("POST", server.port, "/fhir/Binary", body, {**headers, "Content-Type": kind})
        assert status == 201, answer[:300]
    workers = server.workers()
    before = {}
    for pid in workers:
        reset_peak(pid)
        before[pid] = memory_kib(pid, "VmHWM")
    status, _, answer = request("POST", server.port, "/fhir/Binary", data, {**headers, "Content-Type": content_type})
    assert status == 201, answer[:300]
    growth = {pid: memory_kib(pid, "VmHWM") - before[pid] for pid in workers}
    pid = max(growth, key=lambda p: growth[p])
    return growth[pid] / 1024, memory_kib(pid, "VmHWM") / 1024


def markdown_table(rows: list[Row]) -> str:
    lines = ["| scenario | clients | ours median | ours p99 | ours req/s | baseline median | baseline p99 | "
             "baseline req/s | median ours/baseline | req/s baseline/ours |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        o, b = row.ours, row.baseline
        errors = f" ({o.errors} errors)" if o.errors else ""
        lines.append(f"| {row.scenario}{errors} | {o.clients} | {o.median_ms:.1f} ms | {o.p99_ms:.1f} ms | "
                     f"{o.throughput:.1f} | {b.median_ms:.1f} ms | {b.p99_ms:.1f} ms | {b.throughput:.1f} | "
                     f"{o.median_ms / b.median_ms:.1f}x | {b.throughput / o.throughput if o.throughput else 0:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL of a database to create and drop")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent client processes")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--duration", type=float, default=None, help="seconds per scenario and server (default 15)")
    amount.add_argument("--requests", type=int, default=None,
                        help="requests per scenario and server (a tenth of that for the photo transactions)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 s per scenario, 2,000 consults")
    parser.add_argument("--consults", type=int, default=None, help="generated consults for the inbox (100,000)")
    parser.add_argument("--owners", type=int, default=1,
                        help="spread the generated consults over this many specialists (1: all dr. Visser's)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("TRIAGE_WORKERS", "2")),
                        help="gunicorn workers for the service and the baseline (TRIAGE_WORKERS, 2)")
    parser.add_argument("--only", choices=("intake", "photos", "search", "inbox", "memory"), action="append",
                        help="run only these parts (repeatable); all by default")
    parser.add_argument("--output", type=Path, default=None, help="also write the results (Markdown) to this file")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder and database afterwards")
    args = parser.parse_args()
    duration = args.duration if args.duration is not None else (None if args.requests else (2 if args.quick else 15))
    config = Config(args.concurrency, duration, args.requests, sequential=10 if args.quick else 100)
    consults = args.consults if args.consults is not None else (2_000 if args.quick else 100_000)

    signal.signal(signal.SIGTERM, exit_on_signal)
    atexit.register(stop_all_servers)
    workdir = Path(tempfile.mkdtemp(prefix="triage-http-bench-"))
    instance = workdir / "instance"
    url = prepare_database(args.database_url, workdir)
    try:
        output = run(args, config, consults, workdir, instance, url)
    finally:
        stop_all_servers()
        if not args.keep:
            if url:
                drop_database(url)
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}" + (f" and {url}" if url else ""))
    print("\n" + output)
    if args.output:
        args.output.write_text(output + "\n", encoding="utf-8")


def run(args: argparse.Namespace, config: Config, consults: int, workdir: Path, instance: Path, url: str) -> str:
    ours_port, base_port = free_port(), free_port()
    env = service_env(instance, url, ours_port, args.workers)
    engine_name = "PostgreSQL" if url else "SQLite"
    print(f"{engine_name}, {args.workers} gunicorn sync workers, {config.concurrency} clients, "
          + (f"{config.duration:g} s per scenario" if config.duration else f"{config.requests} requests per scenario")
          + f"; instance {instance}", flush=True)
    for command in ("init-db", "load-demo"):
        subprocess.run([sys.executable, "-m", "triage_service.cli", command], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)

    ours = Server("service", "triage_service:create_app()", env, ours_port, workdir / "service.log")
    base_env = {**env, "BASELINE_DATA_DIR": str(workdir / "baseline"), "BASELINE_SECRET_KEY": secrets.token_hex(32)}
    # Imported as benchmarks.baseline_app from the checkout (gunicorn puts its working folder on sys.path);
    # with benchmarks/ itself on the path, this file would stand in for the standard library's http.
    baseline = Server("baseline", BASELINE_APP, base_env, base_port, workdir / "baseline.log")
    ours.wait_ready("/fhir/metadata")
    baseline.wait_ready("/healthz")

    token = gp_token(ours_port, instance)
    fhir = (("Authorization", f"Bearer {token}"), ("Content-Type", FHIR_JSON), ("Accept", FHIR_JSON))
    rows: list[Row] = []

    def both(label: str, ours_plan: RequestPlan, base_plan: RequestPlan, **kwargs: Any) -> Row:
        row = measure(config, label, ours_port, ours_plan, base_port, base_plan, **kwargs)
        rows.append(row)
        return row

    parts = set(args.only or ("intake", "photos", "search", "inbox", "memory"))
    text_row = one_row = photo_row = big_inbox = big_inbox_one = None
    peak_rows: list[Row] = []

    # (a) text-only consults
    text = json.dumps(consult_body()).encode()
    intake = RequestPlan("POST", ("/fhir/ServiceRequest",), fhir, text, expect=(201,))
    if "intake" in parts:
        text_row = both("(a) text consult intake, POST /fhir/ServiceRequest", intake, intake)
        one_row = both("(a) text consult intake, one client at a time", intake, intake, clients=1)
        # The issue's Monday-morning peak ("tens per second"), sent by 20 GP systems at fixed times.
        for rate in PEAK_RATES:
            peak_rows.append(both(f"(a) text consult intake, open loop at {rate:g} requests/s", intake, intake,
                                  rate=rate))

    # (b) transactions with three photos of about 1 MB
    photos = [photo_jpeg(1_000_000, (2016, 1512), seed) for seed in range(3)]
    if "photos" in parts:
        bundle = json.dumps(photo_transaction(photos)).encode()
        photo_plan = RequestPlan("POST", ("/fhir",), fhir, bundle, expect=(200,))
        photo_row = both(f"(b) transaction, 3 photos ({sum(map(len, photos)) / 3e6:.2f} MB each), POST /fhir",
                         photo_plan, photo_plan, heavy=True)
    if parts & {"search", "inbox"}:
        big_inbox, big_inbox_one = scenarios_after_intake(args, config, consults, instance, url, parts, fhir,
                                                          ours_port, base_port, both, ours, intake)
    stop_all_servers()
    memory_rows = memory_scenarios(args, instance, url, base_env, workdir, photos[0]) if "memory" in parts else []

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    amount = f"{config.duration:g} s per scenario and server" if config.duration else \
        f"{config.requests} requests per scenario and server"
    out = [f"### {engine_name}: {args.workers} gunicorn sync workers, {config.concurrency} client processes, "
           f"{amount} ({when}, {os.cpu_count()} cores)", "", markdown_table(rows), ""]
    if memory_rows:
        out += ["| POST /fhir/Binary, one upload | ours: worker peak RSS grows by | ours: worker peak | "
                "baseline grows by | baseline peak |", "|---|---|---|---|---|"]
        out += [f"| {label} | {grown:.1f} MB | {peak:.0f} MB | {base_grown:.1f} MB | {base_peak:.0f} MB |"
                for label, grown, peak, base_grown, base_peak in memory_rows]
    out += ["", "Targets:"]
    if text_row is not None:
        out.append(target_line(f"text consult p99 under 100 ms at {config.concurrency} clients (issue: at 20)",
                               text_row.ours.p99_ms < 100, f"p99 {text_row.ours.p99_ms:.0f} ms"))
    if text_row is not None and one_row is not None:
        out += issue25_targets(text_row, one_row, config.concurrency)
    if photo_row is not None:
        ratio = photo_row.baseline.throughput / photo_row.ours.throughput if photo_row.ours.throughput else 0
        out.append(target_line("photo transactions at most 4x below the baseline (issue 25)", 0 < ratio <= 4,
                               f"{ratio:.1f}x ({photo_row.ours.throughput:.1f} against "
                               f"{photo_row.baseline.throughput:.1f} req/s)"))
    for row in peak_rows:
        out.append(target_line(f"text consult p99 under 100 ms, {config.concurrency} clients sending "
                               f"{row.scenario.rsplit(' at ', 1)[1]} together", row.ours.p99_ms < 100,
                               f"p99 {row.ours.p99_ms:.0f} ms"))
    for label, grown, *_ in memory_rows:
        out.append(target_line(f"a 20 MB upload ({label.split(',')[0]}) raises a worker's peak memory by < 60 MB",
                               grown < 60, f"+{grown:.1f} MB"))
    if big_inbox is not None and big_inbox_one is not None:
        total = big_inbox.scenario.removeprefix("(d) inbox list with ")
        out.append(target_line(f"inbox median under 50 ms ({total}), one client",
                               big_inbox_one.ours.median_ms < 50, f"median {big_inbox_one.ours.median_ms:.1f} ms"))
        out.append(target_line(f"(same, at {config.concurrency} clients)", big_inbox.ours.median_ms < 50,
                               f"median {big_inbox.ours.median_ms:.1f} ms"))
    return "\n".join(out)


def issue25_targets(text_row: Row, one_row: Row, clients: int) -> list[str]:
    """Issue 25's intake targets (meant for PostgreSQL, 20 clients, the baseline in the same run)."""
    ours, base = text_row.ours, text_row.baseline
    ratio = base.throughput / ours.throughput if ours.throughput else float("inf")
    return [
        target_line(f"text intake at {clients} clients at or above 190 req/s", ours.throughput >= 190,
                    f"{ours.throughput:.1f} req/s"),
        target_line("text intake at most 5x below the baseline", ratio <= 5,
                    f"{ratio:.1f}x ({ours.throughput:.1f} against {base.throughput:.1f} req/s)"),
        target_line("text intake one client at a time at or below 10 ms median", one_row.ours.median_ms <= 10,
                    f"median {one_row.ours.median_ms:.1f} ms"),
    ]


def scenarios_after_intake(args: argparse.Namespace, config: Config, consults: int, instance: Path, url: str,
                           parts: set[str], fhir: tuple[tuple[str, str], ...], ours_port: int, base_port: int,
                           both: Callable[..., Row], ours: Server,
                           intake: RequestPlan) -> tuple[Row | None, Row | None]:
    """(c) the GP system's searches and (d) the inbox, then both again with many consults in the database."""
    from triage_service.demo import DEMO_PASSWORD, DEMO_USERS

    # (c) the GP system's Task search and read
    if "search" in parts:
        search_path = "/fhir/Task?status=accepted&_count=20"
        status, _, answer = request("GET", ours_port, "/fhir/Task?status=accepted&_count=100", headers=dict(fhir))
        check(status, 200, "Task search for ids", answer, ours)
        task_ids = [e["resource"]["id"] for e in json.loads(answer).get("entry", [])]
        assert task_ids, "no accepted Tasks to read"
        get_fhir = tuple(h for h in fhir if h[0] != "Content-Type")
        both("(c) Task search, GET /fhir/Task?status=accepted (20 per page)",
             RequestPlan("GET", (search_path,), get_fhir), RequestPlan("GET", (search_path,), get_fhir))
        both("(c) Task read, GET /fhir/Task/{id}",
             RequestPlan("GET", tuple(f"/fhir/Task/{t}" for t in task_ids), get_fhir),
             RequestPlan("GET", tuple(f"/fhir/Task/task-{n}" for n in range(20)), get_fhir))
    if "inbox" not in parts:
        return None, None

    # (d) the specialist's inbox, logged in
    username, _, _, secret = DEMO_USERS[0]
    cookie = log_in(ours_port, username, DEMO_PASSWORD, secret)
    _, base_headers, _ = request("GET", base_port, "/login")
    base_cookie = cookie_header(base_headers["set-cookie"])
    status, _, page = request("GET", ours_port, "/inbox", headers={"Cookie": cookie})
    check(status, 200, "the first inbox page", page, ours)
    consult_ids = list(dict.fromkeys(re.findall(rb'/consults/([0-9a-f-]{36})', page)))
    assert consult_ids, "no consults in the inbox"
    inbox_ours = RequestPlan("GET", ("/inbox",), cookie=cookie, expect=(200,))
    inbox_base = RequestPlan("GET", ("/inbox",), cookie=base_cookie, expect=(200,))
    both("(d) inbox list, GET /inbox", inbox_ours, inbox_base)
    both("(d) consult view, GET /consults/{id}",
         RequestPlan("GET", tuple(f"/consults/{c.decode()}" for c in consult_ids), cookie=cookie, expect=(200,)),
         RequestPlan("GET", tuple(f"/consults/task-{n}" for n in range(20)), cookie=base_cookie, expect=(200,)))

    # The inbox with many consults in the database.
    started = time.monotonic()
    total = generate_consults(instance, url, consults, args.owners)
    print(f"  generated {consults:,} consults in {time.monotonic() - started:.0f} s; {total:,} in the database",
          flush=True)
    status, _, page = request("GET", ours_port, "/inbox", headers={"Cookie": cookie})
    if status != 200:  # the session may have been idle too long while generating
        cookie = log_in(ours_port, username, DEMO_PASSWORD, secret)
    inbox_ours = RequestPlan("GET", ("/inbox",), cookie=cookie, expect=(200,))
    spread = f", {args.owners} specialists" if args.owners > 1 else ", all dr. Visser's"
    big_inbox = both(f"(d) inbox list with {total:,} consults in the database{spread}", inbox_ours, inbox_base)
    big_inbox_one = both(f"(d) inbox list with {total:,} consults{spread}, one client at a time", inbox_ours,
                         inbox_base, clients=1)
    # Routing counts each candidate's open work and how often similar consults became referrals: both
    # read more rows as the database grows.
    both(f"(a) text consult intake with {total:,} consults in the database", intake, intake)
    return big_inbox, big_inbox_one


MemoryRow = tuple[str, float, float, float, float]


def memory_scenarios(args: argparse.Namespace, instance: Path, url: str, base_env: dict[str, str], workdir: Path,
                     small_jpeg: bytes) -> list[MemoryRow]:
    """Peak memory around one 20 MB upload, on fresh workers with the limits raised for it."""
    memory_port = free_port()
    limits = str(64 * 1024 * 1024)
    memory_env = service_env(instance, url, memory_port, args.workers, TRIAGE_MAX_ATTACHMENT_BYTES=limits,
                             TRIAGE_MAX_REQUEST_BYTES=limits)
    ours = Server("service (64 MiB limits)", "triage_service:create_app()", memory_env, memory_port,
                  workdir / "service-memory.log")
    baseline = Server("baseline", BASELINE_APP, base_env, free_port(), workdir / "baseline-memory.log")
    ours.wait_ready("/fhir/metadata")
    baseline.wait_ready("/healthz")
    memory_token = gp_token(memory_port, instance)
    pdf = big_pdf(20 * 1024 * 1024)
    jpeg = photo_jpeg(20 * 1024 * 1024, (6300, 4725), 11)
    small_pdf = big_pdf(200_000)
    warmups = [(small_jpeg, "image/jpeg"), (small_pdf, "application/pdf")] * 3
    memory_rows: list[MemoryRow] = []
    for label, data, kind in ((f"PDF, {len(pdf) / 1e6:.1f} MB (stored as sent)", pdf, "application/pdf"),
                              (f"JPEG 6300x4725, {len(jpeg) / 1e6:.1f} MB (upright: cleaned losslessly)", jpeg,
                               "image/jpeg")):
        grown, peak = memory_of_upload(ours, memory_token, data, kind, warmups)
        base_grown, base_peak = memory_of_upload(baseline, None, data, kind, warmups)
        print(f"  20 MB upload, {label}: ours +{grown:.1f} MB (peak {peak:.0f} MB), "
              f"baseline +{base_grown:.1f} MB (peak {base_peak:.0f} MB)", flush=True)
        memory_rows.append((label, grown, peak, base_grown, base_peak))
    stop_all_servers()
    return memory_rows


if __name__ == "__main__":
    main()
