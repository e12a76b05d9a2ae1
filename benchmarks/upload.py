"""Upload throughput of a 5 MB smartphone-like photo, against a plain file copy in the same run.

Run: .venv/bin/python benchmarks/upload.py [--repeats 10]

"ours" is the whole POST /fhir/Binary in-process (token check, type sniffing, checking the image,
removing its metadata, thumbnail, encryption, storage, audit row, commit), for the same photo twice: upright
(cleaned losslessly, decoded at reduced scale) and with EXIF orientation 6 (decoded, turned, re-encoded),
through Flask's test client on a throw-away SQLite instance; no network is involved. The baseline writes
the same bytes to a file in the same folder (the unavoidable work: the bytes must reach disk).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image


def smartphone_photo(target_bytes: int = 5 * 1024 * 1024) -> bytes:
    """A 12 MP JPEG with enough texture to weigh about as much as a phone photo."""
    rng = random.Random(5)
    image = Image.effect_noise((4000, 3000), 60).convert("RGB")
    tint = Image.new("RGB", image.size, (rng.randint(100, 200), 120, 90))
    image = Image.blend(image, tint, 0.4)
    for quality in (98, 95, 92, 88, 85, 80):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() <= target_bytes * 1.1:
            return out.getvalue()
    return out.getvalue()


def turned(photo: bytes) -> bytes:
    """The same photo as a phone held upright writes it: orientation 6 (turn 90 degrees) in EXIF."""
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.open(io.BytesIO(photo)).save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    photo = smartphone_photo()
    megabytes = len(photo) / 1_000_000

    with tempfile.TemporaryDirectory() as folder:
        os.environ["TRIAGE_INSTANCE_PATH"] = folder
        os.environ["TRIAGE_DATABASE_URL"] = ""
        from triage_service import clock, create_app
        from triage_service.accounts.registration import client_assertion
        from triage_service.database import session_scope
        from triage_service.demo import load_demo
        from triage_service.migrate import upgrade_database

        app = create_app()
        upgrade_database(app.extensions["triage.engine"])
        with session_scope(app) as session:
            demo = load_demo(session, app.extensions["triage.settings"])[0]
        client = app.test_client()
        token = client.post("/oauth/token", data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(demo.client_id, demo.key_file.read_bytes(),
                                                 "http://localhost/oauth/token", clock.now(), kid=demo.kid),
            "scope": "system/Binary.write"}).get_json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}

        results = {}
        for name, data in (("upright", photo), ("turned (EXIF 6)", turned(photo))):
            ours, baseline = [], []
            for i in range(args.repeats):
                start = time.perf_counter()
                response = client.post("/fhir/Binary", data=data, headers=headers)
                ours.append(time.perf_counter() - start)
                assert response.status_code == 201, response.get_json()

                start = time.perf_counter()
                with open(Path(folder) / f"copy-{i}.jpg", "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                baseline.append(time.perf_counter() - start)
            results[name] = (len(data) / 1_000_000, statistics.median(ours), max(ours), statistics.median(baseline))

    print(f"Upload of a {megabytes:.1f} MB JPEG (4000x3000), median of {args.repeats}")
    for name, (size, ours_s, worst, base_s) in results.items():
        print(f"  {name}, {size:.1f} MB")
        print(f"    ours (POST /fhir/Binary, check + clean + encrypt + store): {ours_s * 1000:8.1f} ms  "
              f"{size / ours_s:7.1f} MB/s   max {worst * 1000:.1f} ms")
        print(f"    baseline (write the bytes to a file, fsync):               {base_s * 1000:8.1f} ms  "
              f"{size / base_s:7.1f} MB/s")
        print(f"    ratio ours/baseline time: {ours_s / base_s:.1f}x")


if __name__ == "__main__":
    main()
