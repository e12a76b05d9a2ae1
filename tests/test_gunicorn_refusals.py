"""What gunicorn refuses before the application sees it (an over-long request line, too large or invalid
headers) is answered like any FHIR error: an OperationOutcome with the service's security headers."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from tests.served import Served


@pytest.fixture(scope="module")
def served(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(app, tmp_path_factory.mktemp("served") / "serve.log")
    server.start()
    yield server
    server.stop()


def _exchange(served: Served, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer (gunicorn closes the connection after a refusal)."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as conn:
        conn.sendall(raw)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def _assert_outcome(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    assert headers["content-type"].startswith("application/fhir+json")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert len(headers["x-request-id"]) == 32
    outcome: dict[str, Any] = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"]
    return outcome


SECRET = "999999990"  # as a search value in the URL: it must not be echoed back or logged


@pytest.mark.parametrize(("name", "raw", "status"), [
    ("an over-long request line",
     f"GET /fhir/ServiceRequest?identifier={SECRET}&x={'a' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 414),
    ("an over-large header",
     f"GET /fhir/Task HTTP/1.1\r\nHost: x\r\nX-Big: {SECRET}{'a' * 9000}\r\n\r\n".encode(), 431),
    ("too many headers",
     b"GET /fhir/Task HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431),
    ("a control character in a header value",
     f"GET /fhir/Task HTTP/1.1\r\nHost: x\r\nX-Bad: {SECRET}\x01\r\n\r\n".encode(), 400),
    ("an invalid header name",
     f"GET /fhir/Task HTTP/1.1\r\nHost: x\r\nBad Header{SECRET}: 1\r\n\r\n".encode(), 400),
    ("a request line that is not HTTP", f"HELLO {SECRET}\r\n\r\n".encode(), 400),
    ("an unsupported transfer coding",
     b"POST /fhir/ServiceRequest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    ("a transfer coding gunicorn does not implement",
     b"POST /fhir/ServiceRequest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
])
def test_a_request_gunicorn_refuses_gets_an_operation_outcome_with_security_headers(
        served: Served, name: str, raw: bytes, status: int) -> None:
    got, headers, body = _exchange(served, raw)

    assert got == status, (name, body[:300])
    outcome = _assert_outcome(headers, body)
    assert SECRET not in json.dumps(outcome)
    assert served.logged(headers["x-request-id"])
    assert SECRET not in served.output()  # neither in the error log nor in the access log


def test_the_application_answers_carry_the_same_headers_and_a_request_id_in_the_access_log(served: Served) -> None:
    response = requests.get(f"{served.url}/fhir/Task/1", timeout=30)  # no token: a 401 from the application

    assert response.status_code == 401
    headers = {k.lower(): v for k, v in response.headers.items()}
    _assert_outcome(headers, response.content)
    assert served.logged(f'"GET /fhir/Task/1" 401 {len(response.content)} ')
    assert served.logged(headers["x-request-id"])


def test_a_request_line_within_the_limit_still_reaches_the_application(served: Served) -> None:
    response = requests.get(f"{served.url}/fhir/Task?status={'a' * 3000}", timeout=30)
    assert response.status_code == 401  # the application's answer: no token



@pytest.mark.parametrize("body", [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"2;\x01=1\r\n{}\r\n0\r\n\r\n"])
def test_a_malformed_chunked_body_is_a_400_operation_outcome(app: Flask, served: Served, body: bytes) -> None:
    token = served.token(app)
    raw = (b"POST /fhir/ServiceRequest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           b"Content-Type: application/fhir+json\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n" + body)

    status, headers, answer = _exchange(served, raw)

    assert status == 400, answer[:300]
    _assert_outcome(headers, answer)
