"""The baseline for benchmarks/serving.py: a minimal Flask app doing only the work no implementation can avoid.

Served by benchmarks/serving.py under gunicorn with the service's own config/gunicorn.conf.py (same
worker count, ``sync`` workers, the same access log), as ``benchmarks.baseline_app:create_app()`` from
the checkout's root. Data goes to ``$BASELINE_DATA_DIR``; ``$BASELINE_SECRET_KEY`` signs the
session cookie (the same in every worker, as the service's instance key is).

What each route does, and nothing more:
- ``POST /fhir/ServiceRequest``: parse the JSON body, write the body to a new file and fsync it (the
  service commits every consult durably: SQLite in WAL mode with synchronous=FULL, or PostgreSQL),
  answer a small JSON with a new id. No authentication check, no validation, no routing, no audit.
- ``POST /fhir`` (transaction with photos): parse the JSON, strictly base64-decode every Binary
  entry's ``data``, write each decoded file and the ServiceRequest entry to its own file with fsync,
  answer a small JSON. No image decoding, re-encoding or encryption.
- ``POST /fhir/Binary``: read the raw body, write it to a file with fsync, answer a small JSON.
- ``GET /fhir/Task?...``: read 20 small JSON records from files and answer them as a Bundle;
  ``GET /fhir/Task/<id>``: read one file and answer it.
- ``GET /login``: put a user id in Flask's signed session cookie (no password, no TOTP);
  ``GET /inbox``: check that cookie and render a 25-row HTML table from a Jinja template;
  ``GET /consults/<id>``: check the cookie, read one record and render it as HTML.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, render_template_string, request, session

_INBOX = """<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Inbox</title></head><body>
<h1>Inbox van {{ user }}</h1><table><thead><tr><th>Ontvangen</th><th>Specialisme</th><th>Urgentie</th>
<th>ICPC</th><th>Leeftijd</th><th>Status</th><th>Uiterlijk</th></tr></thead><tbody>
{% for row in rows %}<tr><td><a href="/consults/{{ row.id }}">{{ row.received }}</a></td><td>{{ row.specialism }}</td>
<td>{{ row.priority }}</td><td>{{ row.icpc }}</td><td>{{ row.age }}</td><td>{{ row.status }}</td>
<td>{{ row.due }}</td></tr>{% endfor %}</tbody></table></body></html>"""

_CONSULT = """<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Consult</title></head><body>
<h1>Consult {{ record.id }}</h1><dl>{% for key, value in record.items() %}<dt>{{ key }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl></body></html>"""


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def create_app() -> Flask:
    data_dir = Path(os.environ["BASELINE_DATA_DIR"])
    records = data_dir / "records"
    records.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.secret_key = os.environ["BASELINE_SECRET_KEY"]
    # Twenty stored records for the reads, written once (both workers write the same content).
    for number in range(20):
        record = {"resourceType": "Task", "id": f"task-{number}", "status": "accepted",
                  "businessStatus": {"text": "assigned"}, "focus": {"reference": f"ServiceRequest/sr-{number}"},
                  "owner": {"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}},
                  "authoredOn": "2026-11-23T09:00:00+01:00", "specialism": "Dermatologie", "priority": "routine",
                  "icpc": "S82", "age": 58, "received": "23-11-2026 09:00", "due": "25-11-2026 17:00"}
        (records / f"task-{number}.json").write_text(json.dumps(record), encoding="utf-8")

    def read_record(rid: str) -> dict[str, Any]:
        path = records / f"{rid}.json"
        if not rid.replace("-", "").isalnum() or not path.exists():
            abort(404)
        data: dict[str, Any] = json.loads(path.read_bytes())
        return data

    def small_json(body: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(body), status, mimetype="application/fhir+json")

    @app.get("/healthz")
    def healthz() -> Response:
        return small_json({"ok": True})

    @app.post("/fhir/ServiceRequest")
    def intake() -> Response:
        raw = request.get_data()
        resource = json.loads(raw)
        rid = str(uuid.uuid4())
        _write_durably(data_dir / f"{rid}.json", raw)
        return small_json({"resourceType": "ServiceRequest", "id": rid,
                           "identifier": resource.get("identifier", [])}, 201)

    @app.post("/fhir")
    def transaction() -> Response:
        bundle = json.loads(request.get_data())
        locations = []
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            rid = str(uuid.uuid4())
            if resource["resourceType"] == "Binary":
                _write_durably(data_dir / f"{rid}.bin", base64.b64decode(resource["data"], validate=True))
            elif resource["resourceType"] == "ServiceRequest":
                _write_durably(data_dir / f"{rid}.json", json.dumps(resource).encode())
            locations.append({"response": {"status": "201 Created", "location": f"{resource['resourceType']}/{rid}"}})
        return small_json({"resourceType": "Bundle", "type": "transaction-response", "entry": locations})

    @app.post("/fhir/Binary")
    def binary() -> Response:
        rid = str(uuid.uuid4())
        _write_durably(data_dir / f"{rid}.bin", request.get_data())
        return small_json({"resourceType": "Binary", "id": rid}, 201)

    @app.get("/fhir/Task")
    def search() -> Response:
        entries = [{"resource": read_record(f"task-{n}")} for n in range(20)]
        return small_json({"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries})

    @app.get("/fhir/Task/<rid>")
    def read(rid: str) -> Response:
        return small_json(read_record(rid))

    @app.get("/login")
    def login() -> Response:
        session["user_id"] = "dermatoloog"
        return small_json({"ok": True})

    @app.get("/inbox")
    def inbox() -> str:
        if "user_id" not in session:
            abort(401)
        rows = [read_record(f"task-{n}") for n in range(20)]
        rows += rows[:5]  # 25 rows, the service's page size
        return render_template_string(_INBOX, user=session["user_id"], rows=rows)

    @app.get("/consults/<rid>")
    def consult(rid: str) -> str:
        if "user_id" not in session:
            abort(401)
        return render_template_string(_CONSULT, record=read_record(rid))

    return app
