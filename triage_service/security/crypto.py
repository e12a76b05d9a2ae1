"""The one place that uses ``cryptography`` directly (ARCHITECTURE.md, principle 7).

For now: key pairs for GP-system clients (the demo client and tests). Envelope
encryption of photos and personal data is added here by the photo and security
issues.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def generate_client_keypair(kid: str) -> tuple[bytes, dict[str, Any]]:
    """An EC P-384 key pair (SMART's ES384): the private key as PEM, and the public JWKS to register."""
    private = ec.generate_private_key(ec.SECP384R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public_jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    public_jwk.update({"kid": kid, "alg": "ES384", "use": "sig"})
    return pem, {"keys": [public_jwk]}
