"""A push service on loopback for the tests, and a browser's side of a subscription.

The service records every request (path, headers, body) and answers with the status a test sets (201 by
default, as RFC 8030 says a push service accepts a message). The browser side is what Chromium makes when a
page subscribes: a P-256 key pair and a 16-byte auth secret; it decrypts what the service received as a
browser would (RFC 8291, aes128gcm).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """The recorded requests, and the answers still to give (then ``status`` for the rest)."""

    base: str
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    status: int = 201

    def endpoint(self, name: str = "device-1") -> str:
        return f"{self.base}/push/{name}"


@dataclass
class Browser:
    """A browser's push keys, as ``PushManager.subscribe`` makes them."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                                 serialization.PublicFormat.UncompressedPoint))

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        decoded: dict[str, Any] = json.loads(plain)
        return decoded


@contextmanager
def running_push_service() -> Iterator[PushService]:
    """The push service on a free loopback port while the block runs (a test module's fixture yields it)."""
    service = PushService("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                service.received.append(Received(self.path, dict(self.headers.items()), body))
                status = service.answers.pop(0) if service.answers else service.status
            self.send_response(status)
            if 300 <= status < 400:  # a redirect to another address of the same host
                self.send_header("Location", f"{service.base}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()
