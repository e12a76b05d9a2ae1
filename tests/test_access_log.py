"""The access log cannot be forged through a crafted request path."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from triage_service.access_log import SafeAccessLogger, escape


def test_a_newline_in_the_path_cannot_start_a_forged_log_line() -> None:
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/fhir/x", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": '/fhir/x\n127.0.0.1 "POST /oauth/token" 200\x00\xff', "REMOTE_ADDR": "127.0.0.1"}
    response = SimpleNamespace(status="404 NOT FOUND", sent=10, headers=[])
    atoms = SafeAccessLogger(Config()).atoms(response, SimpleNamespace(headers=[]), environ, timedelta(0))

    assert atoms["U"] == '/fhir/x\\x0a127.0.0.1 "POST /oauth/token" 200\\x00\\xff'
    assert atoms["U"].isprintable() and atoms["U"].isascii()


def test_ordinary_values_are_logged_unchanged() -> None:
    assert escape("/fhir/Task/7f0c-12") == "/fhir/Task/7f0c-12"
    assert escape("a\\b") == "a\\x5cb"  # a literal backslash cannot imitate an escape


def test_the_secret_of_a_patient_s_upload_link_never_reaches_the_access_log() -> None:
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": "/foto/Zk3-geheim_9x", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": "/foto/Zk3-geheim_9x", "REMOTE_ADDR": "127.0.0.1"}
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = SafeAccessLogger(Config()).atoms(response, SimpleNamespace(headers=[]), environ, timedelta(0))

    assert atoms["U"] == "/foto/-"
    assert not any("geheim" in str(value) for value in atoms.values())
