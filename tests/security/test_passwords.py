"""The strength the service hashes passwords at, and the cheap hashes the test suite uses (conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from triage_service.security import passwords


@pytest.fixture
def default_strength() -> Iterator[None]:
    passwords.hash_at_default_strength()
    yield
    passwords.hash_cheaply_in_this_process()


@pytest.mark.usefixtures("default_strength")
def test_the_service_hashes_a_password_with_argon2id_at_rfc_9106_strength() -> None:
    stored = passwords.hash_password("een-lang-wachtwoord")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(stored, "een-lang-wachtwoord")
    assert not passwords.verify_password(stored, "een-ander-wachtwoord")


def test_a_cheap_hash_of_the_suite_still_verifies_at_default_strength_and_only_for_its_password() -> None:
    cheap = passwords.hash_password("een-lang-wachtwoord")
    assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    passwords.hash_at_default_strength()
    try:
        assert passwords.verify_password(cheap, "een-lang-wachtwoord")
        assert not passwords.verify_password(cheap, "een-ander-wachtwoord")
    finally:
        passwords.hash_cheaply_in_this_process()


def test_a_stored_value_that_is_no_argon2_hash_never_verifies() -> None:
    assert not passwords.verify_password("geen-hash", "geen-hash")
