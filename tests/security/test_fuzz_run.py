"""A short run of the seeded HTTP fuzzer (benchmarks/fuzz_api.py) against the service as deployed
(gunicorn, config/gunicorn.conf.py): no answer of 500 or more, every /fhir error an OperationOutcome,
security headers on everything, and every probe answered. The full run sends 10,000 or more."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from benchmarks.fuzz_api import prepare_world, run
from tests.served import Served

SEED = 16
PROBES = 300


@pytest.fixture
def served(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(app, tmp_path_factory.mktemp("fuzz") / "serve.log")
    server.start()
    yield server
    server.stop()


def test_a_seeded_fuzz_run_over_http_finds_no_server_error_and_only_operation_outcomes(
        app: Flask, served: Served) -> None:
    world = prepare_world(served.port, [served.token(app, 0), served.token(app, 1)])

    report = run(served.port, world, SEED, PROBES)

    assert report.sent == PROBES
    assert not report.findings, report.summary()
    assert "Traceback" not in served.output()
