"""The mutations of benchmarks/fuzz_api.py: each probe is one raw HTTP/1.1 request, drawn from a random
generator seeded with (seed, probe number), so any single probe of a run can be rebuilt and replayed.

What is mutated: valid example resources (fhir_profiles/examples, plus the live Task and Subscription of
the run) element by element (values, types, unicode, sizes, structure), raw bodies byte by byte, headers
(content types, tokens, conditional headers, lengths, transfer codings, control characters), paths and ids,
query strings, and methods.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "fhir_profiles" / "examples"
FHIR_JSON = "application/fhir+json"
TYPES = ["ServiceRequest", "Task", "Patient", "Organization", "PractitionerRole", "Coverage", "Binary",
         "DocumentReference", "Communication", "Subscription", "Appointment", "StructureDefinition", "CodeSystem",
         "ValueSet", "Bundle", "AuditEvent", "Basic"]
SEARCH_PARAMS = ["status", "business-status", "focus", "owner", "requester", "requester:identifier", "_lastUpdated",
                 "_count", "_offset", "identifier", "patient", "based-on", "part-of", "category", "sent", "date",
                 "_sort", "_format", "url", "_elements", "_summary", "criteria"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "get", "FOO", "M" * 40, "PROPFIND"]
STRINGS = ["", " ", "\u0000", "a\u0000b", "\ud800", "\udfff", "😀" * 50, "\u202eevil", "e\u0301", "ﷺ" * 300,
           "\r\n", "\t", "\\", "\"", "<script>", "' OR 1=1 --", "null", "NaN", "1e999", "-0", "9" * 400,
           "2026-02-30", "2026-11-23T25:61:00Z", "0000-00-00", "x" * 70000, "Patient/", "Patient/../Task/1",
           "urn:uuid:", "urn:uuid:00000000-0000-0000-0000-000000000000", "http://[::1", "%00", "%ff",
           "Ω≈ç√∫", "\u00a0", "\ufeff", "\U0010ffff", "ĳ", "."]
RAW_IDS = ["", ".", "..", "%2e%2e", "-", "a" * 64, "a" * 65, "a" * 5000, "%00", "ab%00c", "%ff", "%C3%A9t%C3%A9",
           "ab%2Fcd", "x.y", "123", "é", "%F0%9F%98%80", "a%20b", "a;b", "%25", "\u00ff", "a b", "*", "~"]


@dataclass(frozen=True)
class Probe:
    kind: str
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    #: Send this Content-Length instead of the body's (a lie); None: the true length (or chunked / none).
    length: str | None = None
    chunked: bool = False

    def raw(self) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
                 *(f"{name}: {value}" for name, value in self.headers)]
        body = self.body
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
            body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in _pieces(body)) + b"0\r\n\r\n"
        elif self.length is not None:
            lines.append(f"Content-Length: {self.length}")
        elif body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass") + body


def _pieces(body: bytes, size: int = 4096) -> list[bytes]:
    return [body[i:i + size] for i in range(0, len(body), size)] or [b""]


@dataclass
class World:
    """What the probes can name: tokens of two practices and ids that exist in the running service."""

    tokens: list[str]
    ids: dict[str, list[str]] = field(default_factory=dict)
    live: dict[str, dict[str, Any]] = field(default_factory=dict)  # current Task / Subscription resources


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


CONSULT = _example("ServiceRequest-example-dermatology-contained.json")
BUNDLE = _example("Bundle-example-transaction.json")
TEMPLATES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/fhir/ServiceRequest", CONSULT), ("POST", "/fhir/ServiceRequest", CONSULT),
    ("POST", "/fhir/ServiceRequest/$validate", CONSULT), ("POST", "/fhir", BUNDLE), ("POST", "/fhir", BUNDLE),
    ("POST", "/fhir/DocumentReference", _example("DocumentReference-example-photo.json")),
    ("POST", "/fhir/Communication", _example("Communication-example-request-for-information.json")),
    ("POST", "/fhir/Patient", next(c for c in CONSULT["contained"] if c["resourceType"] == "Patient")),
    ("POST", "/fhir/Coverage", next(c for c in CONSULT["contained"] if c["resourceType"] == "Coverage")),
    ("POST", "/fhir/Binary", {"resourceType": "Binary", "contentType": "image/png",
                              "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kc"
                                      "QAAAABJRU5ErkJggg=="}),
    ("POST", "/fhir/Subscription", {"resourceType": "Subscription", "status": "requested", "reason": "fuzz",
                                    "criteria": "Task?status=completed", "channel": {
                                        "type": "rest-hook", "endpoint": "https://his.example.nl/hook",
                                        "payload": FHIR_JSON}}),
]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.55:
        return rng.choice([None, True, False, 0, -1, 2**63, 10**30, -(2**64), 1.5, 1e308, -0.0, 3.0000000001,
                           rng.choice(STRINGS), rng.choice(STRINGS), str(uuid.UUID(int=rng.getrandbits(128)))])
    if roll < 0.8:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["resourceType", "id", "value", "system", "reference", "url", "coding", "extension",
                        rng.choice(STRINGS)[:20]]): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def mutate_json(rng: random.Random, document: dict[str, Any]) -> dict[str, Any]:
    """One to three structural mutations of a copy of ``document``."""
    doc = copy.deepcopy(document)
    for _ in range(rng.randint(1, 3)):
        paths = _paths(doc)
        if not paths:
            break
        path = rng.choice(paths)
        parent: Any = doc
        for step in path[:-1]:
            parent = parent[step]
        key, value = path[-1], parent[path[-1]]
        action = rng.randrange(10)
        if action <= 2:
            parent[key] = random_json(rng)
        elif action == 3 and isinstance(parent, dict):
            del parent[key]
        elif action == 4:
            parent[key] = [value] if not isinstance(value, list) else (value[0] if value else {})
        elif action == 5 and isinstance(value, list):
            value.extend(copy.deepcopy(value) * rng.choice([1, 2, 50, 3000]))
        elif action == 6:
            nested: Any = value
            for _ in range(rng.choice([10, 100, 300])):
                nested = [nested] if rng.random() < 0.5 else {"x": nested}
            parent[key] = nested
        elif action == 7:
            parent[key] = str(value) if not isinstance(value, str) else rng.choice([value * 100, value + "\u0000",
                                                                                  value[::-1], value.upper()])
        elif action == 8 and isinstance(parent, dict):
            parent[rng.choice(STRINGS)[:30] or "_"] = random_json(rng)
        else:
            parent[key] = copy.deepcopy(rng.choice([CONSULT, BUNDLE, {"resourceType": rng.choice(TYPES)}]))
    return doc


def fresh_identifier(doc: dict[str, Any], rng: random.Random) -> None:
    """A new HIS identifier per consult, as a GP system sends (else most would only meet the first)."""
    for resource in [doc, *(e.get("resource", {}) for e in doc.get("entry", []) if isinstance(e, dict))]:
        if isinstance(resource, dict) and resource.get("resourceType") == "ServiceRequest":
            resource["identifier"] = [{"system": "urn:oid:2.16.840.1.113883.2.4.3.999.1",
                                       "value": f"FUZZ-{uuid.UUID(int=rng.getrandbits(128))}"}]


class Fuzzer:
    """Builds probe number ``n`` of a run with seed ``seed``; the same pair always gives the same probe."""

    def __init__(self, seed: int, world: World):
        self.seed, self.world = seed, world
        self.kinds: list[tuple[float, Callable[[random.Random], Probe]]] = [
            (0.40, self._resource), (0.10, self._raw_body), (0.15, self._headers), (0.20, self._path),
            (0.10, self._method), (0.05, self._size)]

    def probe(self, number: int) -> Probe:
        rng = random.Random(f"{self.seed}:{number}")
        roll, total = rng.random(), 0.0
        for weight, make in self.kinds:
            total += weight
            if roll < total:
                return make(rng)
        return self.kinds[-1][1](rng)

    def _auth(self, rng: random.Random) -> list[tuple[str, str]]:
        tokens = self.world.tokens
        roll = rng.random()
        if roll < 0.8:
            return [("Authorization", f"Bearer {tokens[0]}")]
        return list(rng.choice([[], [("Authorization", f"Bearer {tokens[-1]}")], [("Authorization", "Bearer")],
                            [("Authorization", f"Bearer {tokens[0]}x")], [("Authorization", "Basic dXNlcjpwdw==")],
                            [("Authorization", f"Bearer {'A' * 3000}")], [("Authorization", "bearer " + tokens[0])],
                            [("Authorization", f"Bearer {tokens[0]}"), ("Authorization", "Bearer x")]]))

    def _fhir_headers(self, rng: random.Random) -> list[tuple[str, str]]:
        return [*self._auth(rng), ("Content-Type", FHIR_JSON), ("Accept", FHIR_JSON)]

    def _known_or_odd_id(self, rng: random.Random, rtype: str) -> str:
        known = self.world.ids.get(rtype) or []
        if known and rng.random() < 0.5:
            return rng.choice(known)
        return rng.choice([*RAW_IDS, str(uuid.UUID(int=rng.getrandbits(128)))])

    def _resource(self, rng: random.Random) -> Probe:
        live = [("PUT", f"/fhir/{r['resourceType']}/{r['id']}", r) for r in self.world.live.values()]
        method, target, template = rng.choice(TEMPLATES + live)
        doc = copy.deepcopy(template)
        fresh_identifier(doc, rng)
        if rng.random() < 0.9:
            doc = mutate_json(rng, doc)
        headers = self._fhir_headers(rng)
        if rng.random() < 0.15:
            headers.append(rng.choice([("If-None-Exist", "identifier=urn:oid:2.16.840.1.113883.2.4.3.999.1|HIS-1"),
                                       ("If-None-Exist", rng.choice(STRINGS)), ("If-Match", 'W/"1"'),
                                       ("If-Match", rng.choice(STRINGS)), ("Prefer", "return=OperationOutcome")]))
        try:
            body = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
        except RecursionError:  # nested deeper than json.dumps goes: the text is built by hand
            body = b'{"resourceType":"ServiceRequest","note":' + b"[" * 5000 + b"]" * 5000 + b"}"
        return Probe("resource", method, target, tuple(headers), body)

    def _raw_body(self, rng: random.Random) -> Probe:
        method, target, template = rng.choice(TEMPLATES)
        body = bytearray(json.dumps(template).encode())
        action = rng.randrange(8)
        if action == 0:
            body = body[:rng.randrange(len(body))]
        elif action == 1:
            for _ in range(rng.randint(1, 20)):
                body[rng.randrange(len(body))] = rng.randrange(256)
        elif action == 2:
            body = bytearray(b"\xef\xbb\xbf") + body
        elif action == 3:
            body = bytearray(rng.randbytes(rng.randint(0, 2000)))
        elif action == 4:
            body = bytearray(b"[" * 100000 + b"]" * 100000)
        elif action == 5:
            body = bytearray(body.replace(b'"status"', b'"status":"x","status"', 1))
        elif action == 6:
            odd = rng.choice([b"NaN", b"Infinity", b"1e99999", b"-", b'"\\ud800"'])
            body = bytearray(body.replace(b'"active"', odd, 1))
        else:
            body = bytearray(body.decode().encode("utf-16"))
        return Probe("raw-body", method, target, tuple(self._fhir_headers(rng)), bytes(body))

    def _headers(self, rng: random.Random) -> Probe:
        method, target, template = rng.choice(TEMPLATES)
        doc = copy.deepcopy(template)
        fresh_identifier(doc, rng)
        body = json.dumps(doc).encode()
        headers = [h for h in self._fhir_headers(rng) if rng.random() < 0.8]
        length, chunked = None, False
        for _ in range(rng.randint(1, 3)):
            action = rng.randrange(9)
            if action == 0:
                headers.append(("Content-Type", rng.choice(["text/plain", "multipart/form-data; boundary=x", "",
                                                            "application/fhir+json; charset=latin-1", ";;;", "*/*",
                                                            "application/x-www-form-urlencoded", "image/png",
                                                            "application/fhir+json; charset=\"utf-8\"; x=\u00e9"])))
            elif action == 1:
                headers.append(("Accept", rng.choice(["application/fhir+xml", "text/html", "*/*;q=0", "",
                                                      "application/json;q=abc", "text/calendar", ",,,"])))
            elif action == 2:
                headers.append((rng.choice(["If-None-Exist", "If-Match", "If-Modified-Since", "Prefer", "Range",
                                            "X-Request-ID", "Cookie", "X-Forwarded-For", "X-Forwarded-Proto",
                                            "Accept-Language", "Expect", "Origin"]), rng.choice(STRINGS)[:500]))
            elif action == 3:
                length = rng.choice(["0", "-1", "abc", str(len(body) + 100), str(len(body) // 2), "1e3",
                                     "99999999999999999999", f"{len(body)}, {len(body)}"])
            elif action == 4:
                chunked = True
            elif action == 5:
                headers.append(("X-Big", "a" * rng.choice([100, 5000, 9000])))
            elif action == 6:
                headers.extend((f"X-H{i}", "1") for i in range(rng.choice([10, 99, 120])))
            elif action == 7:
                headers.append(("X-Ctl", "a" + rng.choice(["\x00", "\x01", "\x7f", "\r", "é"]) + "b"))
            else:
                headers.append(("Transfer-Encoding", rng.choice(["gzip", "chunked, gzip", "identity", "x"])))
        return Probe("headers", method, target, tuple(headers), body, length, chunked)

    def _path(self, rng: random.Random) -> Probe:
        rtype = rng.choice(TYPES)
        roll = rng.random()
        if roll < 0.5:
            target = f"/fhir/{rtype}/{self._known_or_odd_id(rng, rtype)}"
            target += rng.choice(["", "", "/", "/_history/1", "/_history/x", "/$validate", "/$everything", "/%2e%2e"])
        elif roll < 0.85:
            values = [*STRINGS, *RAW_IDS, "-1", "0", "999999999999", "gt2026-11-01", "ServiceRequest/1"]
            params = [f"{rng.choice(SEARCH_PARAMS + STRINGS[:8])}={rng.choice(values)}"
                      for _ in range(rng.randint(1, 4))]
            target = f"/fhir/{rtype}?" + "&".join(p.replace(" ", "%20").replace("#", "%23") for p in params)
        else:
            target = rng.choice(["/", "//fhir/Task", "/fhir//Task", "/FHIR/task", "/fhir/metadata?_format=xml",
                                 "/.well-known/smart-configuration", "/health", "/static/../../etc/passwd",
                                 "/fhir/openapi.json", "/reports/declaration-batches/%00", "/inbox", "/login",
                                 "/consults/" + rng.choice(RAW_IDS), "/fhir/Task?" + "a=1&" * 500, "*",
                                 "http://evil.example/fhir/Task", "/fhir/Task#frag", "/fhir/Task/%"])
        target = "".join(c if c.isprintable() and c != " " else "%20" for c in target)
        return Probe("path", "GET", target, tuple(self._fhir_headers(rng)))

    def _method(self, rng: random.Random) -> Probe:
        rtype = rng.choice(TYPES)
        target = rng.choice([f"/fhir/{rtype}", f"/fhir/{rtype}/{self._known_or_odd_id(rng, rtype)}", "/fhir",
                             "/oauth/token", "/fhir/metadata"])
        body = b""
        if rng.random() < 0.5:
            try:
                body = json.dumps(mutate_json(rng, rng.choice(TEMPLATES)[2])).encode("utf-8", "surrogatepass")
            except RecursionError:
                body = b"[" * 5000 + b"]" * 5000
        return Probe("method", rng.choice(METHODS), target, tuple(self._fhir_headers(rng)), body)

    def _size(self, rng: random.Random) -> Probe:
        size = rng.choice([1 << 20, 3 << 20, 11 << 20, (16 << 20) + 1])
        if rng.random() < 0.5:
            content_type = rng.choice(["image/jpeg", "image/png", "application/pdf"])
            headers = [*self._auth(rng), ("Content-Type", content_type)]
            return Probe("size", "POST", "/fhir/Binary", tuple(headers), rng.randbytes(size),
                         chunked=rng.random() < 0.3)
        doc = copy.deepcopy(CONSULT)
        fresh_identifier(doc, rng)
        doc["note"] = [{"text": "x" * size}]
        return Probe("size", "POST", "/fhir/ServiceRequest", tuple(self._fhir_headers(rng)), json.dumps(doc).encode(),
                     chunked=rng.random() < 0.3)
