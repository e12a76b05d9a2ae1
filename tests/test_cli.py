"""The console script: what an operator runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from triage_service import cli
from triage_service.encryption.envelope import generate_client_keypair
from triage_service.settings import Settings

EXAMPLE = Path(cli.PROJECT_ROOT) / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"


@pytest.fixture
def runner(app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI against the test database (the app fixture has migrated and loaded demo data)."""
    monkeypatch.setattr(cli, "_app", lambda: app)
    return CliRunner()


def test_init_db_and_load_demo_can_run_twice(runner: CliRunner) -> None:
    for _ in range(2):
        assert runner.invoke(cli.main, ["init-db"]).exit_code == 0
        result = runner.invoke(cli.main, ["load-demo"])
        assert result.exit_code == 0, result.output


def test_a_gp_system_is_registered_with_its_public_key(runner: CliRunner, tmp_path: Path) -> None:
    _, jwks = generate_client_keypair("k1")
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    result = runner.invoke(cli.main, ["register-client", "--name", "HIS X", "--organization-agb", "03067890",
                                      "--jwks", str(tmp_path / "jwks.json"), "--scope", "system/Task.read"])
    assert result.exit_code == 0, result.output
    assert "client_id: his-" in result.output


@pytest.mark.parametrize(("agb", "scope", "message"), [
    ("99999999", "system/Task.read", "No organisation"),
    ("06010001", "system/Task.read", "not a GP practice"),
    ("03067890", "user/Task.read", "unsupported scope"),
])
def test_registering_a_client_wrongly_is_refused(runner: CliRunner, tmp_path: Path, agb: str, scope: str,
                                                 message: str) -> None:
    _, jwks = generate_client_keypair("k1")
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    result = runner.invoke(cli.main, ["register-client", "--name", "HIS X", "--organization-agb", agb,
                                      "--jwks", str(tmp_path / "jwks.json"), "--scope", scope])
    assert result.exit_code == 2
    assert message in result.output


def test_a_private_key_is_never_accepted_as_a_jwks(runner: CliRunner, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    private_jwk = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1())))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [private_jwk]}))
    result = runner.invoke(cli.main, ["register-client", "--name", "HIS X", "--organization-agb", "03067890",
                                      "--jwks", str(tmp_path / "jwks.json"), "--scope", "system/Task.read"])
    assert result.exit_code == 2
    assert "private key" in result.output


def test_a_user_is_created_with_a_totp_enrolment_uri(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["create-user", "--username", "smit", "--name", "dr. K. Smit",
                                      "--practitioner-agb", "03100002"],
                           input="een-lang-wachtwoord\neen-lang-wachtwoord\n")
    assert result.exit_code == 0, result.output
    assert "otpauth://totp/" in result.output


def test_a_gp_account_is_created_for_the_gp_and_their_practice(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["create-user", "--username", "de-vries", "--name", "dr. M. de Vries",
                                      "--role", "gp", "--practitioner-agb", "01023456"],
                           input="een-lang-wachtwoord\neen-lang-wachtwoord\n")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("options", "message"), [
    (["--role", "gp"], "needs --practitioner-agb"),
    (["--role", "gp", "--practitioner-agb", "03100002"], "is not a GP's"),
    (["--role", "gp", "--practitioner-agb", "01023456", "--organisation-agb", "03012345"], "not an organisation"),
    (["--role", "practice-staff"], "needs --organisation-agb"),
    (["--role", "practice-staff", "--organisation-agb", "07300001"], "is not a GP practice"),
    (["--role", "specialist", "--practitioner-agb", "01023456"], "goes with --role gp"),
])
def test_a_practice_account_without_its_practice_or_with_the_wrong_one_is_refused(
        runner: CliRunner, options: list[str], message: str) -> None:
    result = runner.invoke(cli.main, ["create-user", "--username", "fout", "--name", "F", *options],
                           input="een-lang-wachtwoord\neen-lang-wachtwoord\n")
    assert result.exit_code == 2
    assert message in result.output


def test_a_short_password_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["create-user", "--username", "kort", "--name", "K"], input="kort\nkort\n")
    assert result.exit_code == 2
    assert "12 characters" in result.output


def test_importing_a_broken_agreement_prints_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("code: X\nname: Y\nbogus: 1\n")
    result = runner.invoke(cli.main, ["import-agreements", str(tmp_path)])
    assert result.exit_code == 2
    assert "x.yaml:3: bogus: Unknown field." in result.output
    assert "Nothing was imported." in result.output


def test_the_agreements_are_listed_with_their_profiles(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["agreements"])
    assert result.exit_code == 0, result.output
    assert "MKC-DERM" in result.output and "Huidafwijkingen volwassenen (fotoconsult)" in result.output
    assert "photos >= 2" in result.output and "group queue" in result.output
    assert "urgent: 1 working day," in result.output and "age 18+" in result.output


def test_an_absence_is_added_listed_and_ended(runner: CliRunner) -> None:
    added = runner.invoke(cli.main, ["absence", "add", "--agb", "03100001", "--from", "2026-01-01",
                                     "--reason", "congres"])
    assert added.exit_code == 0, added.output
    absence_id = added.output.split()[1]
    listed = runner.invoke(cli.main, ["absence", "list"]).output
    # Shown in Amsterdam time, as entered.
    assert "03100001 dr. L. Visser (dermatoloog)  2026-01-01 00:00..open  congres" in listed
    assert runner.invoke(cli.main, ["absence", "end", absence_id]).exit_code == 0
    assert "No current or future absences." in runner.invoke(cli.main, ["absence", "list"]).output


@pytest.mark.parametrize(("args", "message"), [
    (["--agb", "01012345", "--from", "2026-01-01"], "No specialist with AGB 01012345"),
    (["--agb", "03100001", "--from", "2026-02-01", "--until", "2026-01-01"], "must end after it starts"),
    (["--agb", "03100001", "--from", "next week"], "YYYY-MM-DD"),
])
def test_a_wrong_absence_is_refused(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli.main, ["absence", "add", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_the_routing_dry_run_explains_a_match_and_stores_nothing(runner: CliRunner, app: Flask) -> None:
    from sqlalchemy import func, select

    from triage_service.database import session_scope
    from triage_service.models import Consult, RoutingDecision

    example = EXAMPLE
    result = runner.invoke(cli.main, ["route", str(example), "--practice-agb", "03012345"])
    assert result.exit_code == 0, result.output
    assert "MATCH    MKC-DERM / Huidafwijkingen volwassenen (overleg zonder foto's)" in result.output
    assert "no match MKC-DERM / Huidafwijkingen volwassenen (fotoconsult): an intercollegial consult is not agreed" \
        in result.output
    assert "-> practitioner" in result.output and "Answer due" in result.output
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Consult)) == 0
        assert session.scalar(select(func.count()).select_from(RoutingDecision)) == 0


def test_the_routing_dry_run_explains_a_refusal(runner: CliRunner, tmp_path: Path) -> None:
    example = json.loads(EXAMPLE.read_text())
    example["code"]["coding"][0]["code"] = "e-consult"
    (tmp_path / "sr.json").write_text(json.dumps(example))
    result = runner.invoke(cli.main, ["route", str(tmp_path / "sr.json"), "--practice-agb", "03012345"])
    assert result.exit_code == 1
    assert "2 photos are required (0 attached)" in result.output


def test_a_client_with_an_rsa_key_signs_rs384_and_gets_a_token(app: Flask, runner: CliRunner, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "r1", "alg": "RS384", "use": "sig"}]}))
    registered = runner.invoke(cli.main, ["register-client", "--name", "HIS RSA", "--organization-agb", "03067890",
                                          "--jwks", str(tmp_path / "jwks.json"), "--scope", "system/Task.read"])
    client_id = registered.output.split("client_id: ")[1].strip()
    signed = runner.invoke(cli.main, ["client-assertion", "--client-id", client_id, "--key",
                                      str(tmp_path / "key.pem"), "--kid", "r1",
                                      "--token-url", "http://testserver/oauth/token"])
    assert signed.exit_code == 0, signed.output
    # The command signs at the real time; the tests' clock is frozen, so the token is asked with one signed now.
    from tests.conftest import START
    from triage_service.accounts.registration import client_assertion

    assertion = client_assertion(client_id, (tmp_path / "key.pem").read_bytes(), "http://testserver/oauth/token",
                                 START, kid="r1")
    token = app.test_client().post("/oauth/token", data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion, "scope": "system/Task.read"})
    assert token.status_code == 200, token.get_json()


def test_a_file_that_is_no_private_key_gets_a_clear_message(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("not a key")
    result = runner.invoke(cli.main, ["client-assertion", "--client-id", "x", "--key", str(tmp_path / "key.pem")])

    assert result.exit_code == 2
    assert "Cannot sign with" in result.output
