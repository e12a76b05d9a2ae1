"""Seeded fuzzing of the running service over real HTTP (issue 16): mutated requests against
`triage-service serve` (gunicorn, config/gunicorn.conf.py), one at a time over raw sockets.

Run: .venv/bin/python benchmarks/fuzz_api.py [--requests 10000] [--seed 16] [--database-url URL]
                                             [--replay N ...] [--output FILE]
     (no URL: SQLite in a throw-away instance folder; a PostgreSQL URL names a database this script
      creates and drops, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/triage_fuzz)

What runs: ``init-db`` and ``load-demo`` on a fresh instance, the service with one sync worker, then a
consult, its Task and a Subscription are created so probes can name live ids; then ``--requests`` probes
(benchmarks/fuzz_mutations.py). Probe ``n`` of seed ``s`` is always the same request: ``--replay n``
sends just those probes again. tests/security/test_fuzz_run.py runs a few hundred in the suite.

Pass criterion, per response: a status below 500; every ``/fhir`` error (4xx) body an OperationOutcome;
no stack trace in any body; the security headers present; and an answer at all (a dropped connection
means a worker died).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

if __package__ in (None, ""):  # run as a script: the checkout's root makes `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fuzz_mutations import CONSULT, FHIR_JSON, Fuzzer, Probe, World

HOST = "127.0.0.1"
ALL_SCOPES = " ".join(f"system/{t}.{a}" for t in ("ServiceRequest", "Task", "Patient", "Organization",
                                                  "PractitionerRole", "Coverage", "Binary", "DocumentReference",
                                                  "Communication", "Subscription", "Appointment")
                      for a in ("read", "write"))


@dataclass
class Finding:
    number: int
    probe: Probe
    status: int
    problem: str
    excerpt: str

    def describe(self) -> str:
        first_line = self.probe.raw().split(b"\r\n", 1)[0][:200]
        return (f"probe {self.number} ({self.probe.kind}) {first_line!r}: {self.problem}; status {self.status}; "
                f"{self.excerpt[:300]!r}")


@dataclass
class Report:
    seed: int
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.kinds.items()))
        text = (f"seed {self.seed}: {self.sent} requests in {self.seconds:.0f} s; {len(self.findings)} findings\n"
                f"  statuses: {statuses}\n  kinds: {kinds}")
        return text + "".join(f"\n  {f.describe()}" for f in self.findings[:50])


def exchange(port: int, raw: bytes, timeout: float = 90) -> tuple[int, dict[str, str], bytes]:
    """Send one raw request, half-close, read the whole answer; status 0 when none came."""
    with socket.create_connection((HOST, port), timeout=timeout) as conn:
        try:
            conn.sendall(raw)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server refused early (e.g. an over-long line) and closed: read what it said
        received = bytearray()
        try:
            while chunk := conn.recv(1 << 16):
                received += chunk
        except OSError:
            pass
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        return 0, {}, bytes(received)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return int(status_line.split()[1]), headers, body


def _dechunk(body: bytes) -> bytes:
    out, rest = bytearray(), body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return bytes(out)


def check(probe: Probe, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """What is wrong with this answer, or None."""
    if status == 0:
        return "no answer (connection closed without a response)"
    if status >= 500:
        return "server error"
    if b"Traceback" in body:
        return "stack trace in the body"
    if headers.get("x-content-type-options") != "nosniff" or "content-security-policy" not in headers:
        return "security headers missing"
    path = urlsplit(probe.target).path if probe.target.startswith("/") else probe.target
    if status >= 400 and path.startswith("/fhir") and probe.method.upper() != "HEAD":
        try:
            outcome = json.loads(body)
        except ValueError:
            return "a /fhir error body that is not JSON"
        if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome" \
                or not outcome.get("issue"):
            return "a /fhir error body that is not an OperationOutcome"
        if not headers.get("content-type", "").startswith(FHIR_JSON):
            return "a /fhir error without the FHIR JSON content type"
    return None


def run(port: int, world: World, seed: int, count: int, numbers: list[int] | None = None,
        progress: bool = False) -> Report:
    fuzzer, report, started = Fuzzer(seed, world), Report(seed), time.monotonic()
    for number in numbers if numbers is not None else range(count):
        probe = fuzzer.probe(number)
        status, headers, body = exchange(port, probe.raw())
        report.sent += 1
        report.statuses[status] += 1
        report.kinds[probe.kind] += 1
        problem = check(probe, status, headers, body)
        if problem:
            report.findings.append(Finding(number, probe, status, problem, body[:400].decode("utf-8", "replace")))
        if progress and report.sent % 500 == 0:
            print(f"  {report.sent} sent, {len(report.findings)} findings, {time.monotonic() - started:.0f} s",
                  flush=True)
    report.seconds = time.monotonic() - started
    return report


def prepare_world(port: int, tokens: list[str]) -> World:
    """A consult (and so a Task) and a Subscription that exist, so probes can name and update them."""
    world = World(tokens)
    headers = (("Authorization", f"Bearer {tokens[0]}"), ("Content-Type", FHIR_JSON))

    def call(method: str, target: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        status, _, answer = exchange(port, Probe("setup", method, target, headers, data).raw())
        assert status < 300, (target, status, answer[:500])
        result: dict[str, Any] = json.loads(answer)
        return result

    consult = dict(CONSULT, identifier=[{"system": "urn:oid:2.16.840.1.113883.2.4.3.999.1", "value": "FUZZ-SETUP"}])
    created = call("POST", "/fhir/ServiceRequest", consult)
    task = call("GET", f"/fhir/Task?focus=ServiceRequest/{created['id']}")["entry"][0]["resource"]
    subscription = call("POST", "/fhir/Subscription", {
        "resourceType": "Subscription", "status": "requested", "reason": "fuzz", "criteria": "Task",
        "channel": {"type": "rest-hook", "endpoint": "https://his.example.nl/hook", "payload": FHIR_JSON}})
    subscription["channel"].pop("extension", None)  # the secret, shown once
    world.ids = {"ServiceRequest": [created["id"]], "Task": [task["id"]], "Subscription": [subscription["id"]],
                 "Patient": [created["subject"]["reference"].split("/")[-1]]}
    world.live = {"Task": task, "Subscription": subscription}
    return world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL of a database to create and drop")
    parser.add_argument("--replay", type=int, nargs="*", help="send only these probe numbers")
    parser.add_argument("--output", type=Path, default=None, help="also write the summary to this file")
    args = parser.parse_args()

    import atexit
    import shutil
    import subprocess
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from harness import ROOT, Server, drop_database, free_port, prepare_database, request, service_env

    from triage_service import clock
    from triage_service.accounts.registration import client_assertion

    def token(port: int, agb: str) -> str:
        """Every scope a GP system can have, the SMART Backend Services way (as the demo's clients)."""
        client_id = f"demo-his-{agb}"
        key = (instance / "demo-clients" / f"{client_id}.pem").read_bytes()
        token_url = f"http://{HOST}:{port}/oauth/token"
        assertion = client_assertion(client_id, key, token_url, clock.system_clock(), kid=f"{client_id}-key-1")
        status, _, body = request("POST", port, "/oauth/token", urlencode({
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion, "scope": ALL_SCOPES}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, body[:500]
        return str(json.loads(body)["access_token"])

    atexit.register(lambda: [server.stop() for server in list(Server.running)])
    workdir = Path(tempfile.mkdtemp(prefix="triage-fuzz-"))
    instance, url = workdir / "instance", prepare_database(args.database_url, workdir)
    try:
        port = free_port()
        env = service_env(instance, url, port, 1)
        for command in ("init-db", "load-demo"):
            subprocess.run([sys.executable, "-m", "triage_service.cli", command], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        server = Server("service", "triage_service:create_app()", env, port, workdir / "service.log")
        server.wait_ready("/fhir/metadata")
        tokens = [token(port, "03012345"), token(port, "03067890")]
        world = prepare_world(port, tokens)
        print(f"{'PostgreSQL' if url else 'SQLite'}, seed {args.seed}, {args.requests} requests; log "
              f"{workdir / 'service.log'}", flush=True)
        report = run(port, world, args.seed, args.requests, args.replay, progress=True)
        server.stop()
        log = (workdir / "service.log").read_text(errors="replace")
        print(f"service log: {log.count('Traceback')} tracebacks, {log.count('[ERROR]')} [ERROR] lines", flush=True)
        if report.findings or "Traceback" in log:
            keep = Path(tempfile.mkdtemp(prefix="triage-fuzz-log-")) / "service.log"
            keep.write_text(log, encoding="utf-8")
            print(f"service log kept as {keep}", flush=True)
    finally:
        if url:
            drop_database(url)
        shutil.rmtree(workdir, ignore_errors=True)
    print(report.summary())
    if args.output:
        args.output.write_text(report.summary() + "\n", encoding="utf-8")
    raise SystemExit(1 if report.findings else 0)


if __name__ == "__main__":
    main()
