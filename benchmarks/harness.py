"""What every benchmark here needs around the service: gunicorn processes that are always stopped, plain HTTP for
setup (tokens, a browser-like login), a fresh PostgreSQL database per run, the service's environment, and the
MET/MISSED lines of the issues' targets. benchmarks/serving.py, national.py, fuzz_api.py and profile_intake.py use it.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from load import cookie_header, pid_children

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
HOST = "127.0.0.1"
SCOPES = ("system/ServiceRequest.write system/ServiceRequest.read system/Task.read system/Task.write "
          "system/Binary.write system/Binary.read system/DocumentReference.write system/DocumentReference.read")
FHIR_JSON = "application/fhir+json"
PROTECTED_DATABASES = {"test", "triage_bench", "postgres", "template0", "template1"}


# --------------------------------------------------------------------------------------------------
# Processes: every gunicorn a benchmark starts is stopped on any exit, including Ctrl-C and SIGTERM.

class Server:
    """A gunicorn master in its own process group; stopping it stops its workers too."""

    running: list[Server] = []

    def __init__(self, name: str, app: str, env: dict[str, str], port: int, log: Path,
                 extra: tuple[str, ...] = ()) -> None:
        self.name, self.port, self.log = name, port, log
        self._log_handle = open(log, "wb")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--bind", f"{HOST}:{port}",
                   *extra, app]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=self._log_handle,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        Server.running.append(self)

    def wait_ready(self, path: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                status, _, _ = request("GET", self.port, path)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout} s:\n{self.tail()}")

    def workers(self) -> list[int]:
        return pid_children(self.process.pid)

    def tail(self, lines: int = 40) -> str:
        self._log_handle.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)  # the master's group: master and workers
                self.process.wait(timeout=25)  # gunicorn's graceful_timeout is 20 s
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        self._log_handle.close()
        if self in Server.running:
            Server.running.remove(self)


def stop_all_servers() -> None:
    for server in list(Server.running):
        server.stop()


def exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # runs the finally blocks and atexit, which stop the servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def request(method: str, port: int, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def gp_token(port: int, instance: Path, practice_agb: str = "03012345") -> str:
    """A bearer token the SMART Backend Services way, as the demo's GP system of that practice gets it."""
    from triage_service.accounts.registration import client_assertion

    client_id = f"demo-his-{practice_agb}"
    key = (instance / "demo-clients" / f"{client_id}.pem").read_bytes()
    token_url = f"http://{HOST}:{port}/oauth/token"
    assertion = client_assertion(client_id, key, token_url, datetime.now(UTC), kid=f"{client_id}-key-1")
    status, _, body = request("POST", port, "/oauth/token", urlencode({
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion, "scope": SCOPES}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"token request failed: {status} {body[:500]!r}")
    token: str = json.loads(body)["access_token"]
    return token


_used_totp_steps: set[tuple[str, int]] = set()


def log_in(port: int, username: str, password: str, totp_secret: str) -> str:
    """Password, then TOTP, as a browser does; returns the session cookie. A TOTP code works once, so a
    second login in the same 30 s step waits for the next code."""
    import pyotp

    def csrf(page: bytes) -> str:
        match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert match, "no CSRF token on the page"
        return match.group(1).decode()

    def step(method: str, path: str, cookie: str, form: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, answer_headers, page = request(method, port, path, body, headers)
        set_cookie = answer_headers.get("set-cookie")
        return status, (cookie_header(set_cookie) if set_cookie else cookie), page

    _, cookie, page = step("GET", "/login", "")
    status, cookie, page = step("POST", "/login", cookie,
                                {"username": username, "password": password, "csrf_token": csrf(page)})
    if status != 302:
        raise RuntimeError(f"login of {username} failed: {status} {page[:300]!r}")
    totp = pyotp.TOTP(totp_secret)
    while (username, totp.timecode(datetime.now(UTC))) in _used_totp_steps:
        time.sleep(1)
    _used_totp_steps.add((username, totp.timecode(datetime.now(UTC))))
    _, cookie, page = step("GET", "/login/code", cookie)
    status, cookie, page = step("POST", "/login/code", cookie, {"code": totp.now(), "csrf_token": csrf(page)})
    if status != 302:
        raise RuntimeError(f"TOTP step of {username} failed: {status} {page[:300]!r}")
    return cookie


def prepare_database(url: str, workdir: Path) -> str:
    if not url:
        return ""
    from reports import fresh_database
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if not name or name in PROTECTED_DATABASES:
        raise SystemExit(f"refusing to drop and recreate the database {name!r}; use e.g. triage_bench_http")
    return fresh_database(url, workdir)


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def service_env(instance: Path, url: str, port: int, workers: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update({
        "TRIAGE_INSTANCE_PATH": str(instance), "TRIAGE_DATABASE_URL": url, "TRIAGE_WORKERS": str(workers),
        "TRIAGE_PUBLIC_BASE_URL": f"http://{HOST}:{port}",
        # One address sends everything here; the limits would refuse most requests.
        "TRIAGE_RATE_LIMIT_TOKEN": "100000/minute", "TRIAGE_RATE_LIMIT_LOGIN": "100000/minute",
        # A token for a whole scenario, however long it runs; tokens are checked the same way either way.
        "TRIAGE_ACCESS_TOKEN_LIFETIME_SECONDS": "3600",
        **extra})
    return env


def generate_consults(instance: Path, url: str, count: int, owners: int = 1) -> int:
    """Insert ``count`` consults for dr. Visser with benchmarks/reports.py's bulk generator (open and
    answered, over 2026); returns how many consults the database then holds."""
    from reports import generate
    from sqlalchemy import func, select, text

    from triage_service import create_app
    from triage_service.models import Consult
    from triage_service.settings import load_settings

    app = create_app(load_settings(instance_path=instance, database_url=url))
    engine = app.extensions["triage.engine"]
    try:
        generate(app, count, random.Random(9), owners)
        # After a bulk load, as autovacuum would soon: statistics, and (PostgreSQL) the visibility map that
        # index-only scans rely on.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
            total: int = conn.execute(select(func.count()).select_from(Consult)).scalar_one()
        return total
    finally:
        engine.dispose()


def check(status: int, wanted: int, what: str, answer: bytes, server: Server) -> None:
    """Setup requests must succeed; when one does not, show what the server logged."""
    if status != wanted:
        raise RuntimeError(f"{what}: {status} instead of {wanted}: {answer[:300]!r}\n{server.name} log:\n"
                           f"{server.tail(80)}")


def target_line(what: str, met: bool, figure: str) -> str:
    return f"- {'MET' if met else 'MISSED'}: {what}: {figure}"

