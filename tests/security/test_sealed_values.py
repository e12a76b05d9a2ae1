"""A sealed value: long ones are compressed before they are encrypted, short ones are not, both open again,
and neither can be relabelled, moved to another column or read without its key."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from triage_service.encryption import fields
from triage_service.encryption.envelope import DecryptionError
from triage_service.encryption.fields import FieldKeys, is_sealed, key_id_of, seal, unseal

CONTEXT = "consults.resource"
ADVICE = ("Beeld past bij een seborroïsche keratose. Geen aanwijzingen voor maligniteit; bij groei of bloeden "
          "opnieuw beoordelen. ") * 8


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> FieldKeys:
    keys = FieldKeys.generate()
    monkeypatch.setattr(fields._Keys, "current", keys)
    return keys


def test_a_long_value_is_compressed_before_it_is_sealed_and_opens_again() -> None:
    token = seal(ADVICE, CONTEXT)
    assert token.startswith("enc:v2:")
    assert len(token) < len(ADVICE.encode()) / 2
    assert unseal(token, CONTEXT) == ADVICE


def test_a_short_value_is_sealed_as_before_and_opens_again() -> None:
    token = seal("999990019", CONTEXT)
    assert token.startswith("enc:v1:")
    assert unseal(token, CONTEXT) == "999990019"


def test_a_token_sealed_before_compression_existed_still_opens(keys: FieldKeys) -> None:
    # The old form: the column's name alone as associated data, the plaintext as it was.
    nonce = os.urandom(12)
    sealed = AESGCM(keys.data_keys[keys.active]).encrypt(nonce, ADVICE.encode(), CONTEXT.encode())
    old = f"enc:v1:{keys.active}:{base64.b64encode(nonce + sealed).decode()}"
    assert unseal(old, CONTEXT) == ADVICE


def test_a_compressed_token_relabelled_as_plain_fails_authentication() -> None:
    token = seal(ADVICE, CONTEXT)
    with pytest.raises(DecryptionError):
        unseal(token.replace("enc:v2:", "enc:v1:", 1), CONTEXT)


def test_a_compressed_token_moved_to_another_column_fails_authentication() -> None:
    with pytest.raises(DecryptionError):
        unseal(seal(ADVICE, CONTEXT), "consult_messages.text")


def test_an_unknown_version_is_refused() -> None:
    token = seal(ADVICE, CONTEXT)
    with pytest.raises(DecryptionError):
        unseal(token.replace("enc:v2:", "enc:v9:", 1), CONTEXT)


def test_the_key_id_of_a_token_is_the_key_it_was_sealed_with(keys: FieldKeys) -> None:
    assert key_id_of(seal(ADVICE, CONTEXT)) == keys.active
    assert key_id_of(seal("kort", CONTEXT)) == keys.active


def test_only_tokens_of_a_known_version_count_as_sealed() -> None:
    assert is_sealed(seal(ADVICE, CONTEXT)) and is_sealed(seal("kort", CONTEXT))
    assert not is_sealed("enc: een bericht van voor de versleuteling")
    assert not is_sealed('{"resourceType": "Patient"}')
