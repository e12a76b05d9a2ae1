"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendations).

Verifying reads the cost parameters from the stored hash itself, so a hash keeps verifying whatever this
process would use for a new one. That is what lets the test suite hash its demo accounts with argon2's
cheapest parameters (:func:`hash_cheaply_in_this_process`): each login then costs microseconds instead of about
a tenth of a second of both cores, which was 40% of the web tests' time, while the service itself never calls
it and hashes every password it stores at the default strength.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST

DEFAULT = PasswordHasher()
_hasher = DEFAULT


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_cheaply_in_this_process() -> None:
    """For tests only: new hashes in this process use argon2's cheapest parameters (no protection at all
    against guessing). Nothing in the service calls it; a hash made so still verifies anywhere."""
    global _hasher
    _hasher = PasswordHasher.from_parameters(CHEAPEST)


def hash_at_default_strength() -> None:
    """Undo :func:`hash_cheaply_in_this_process`."""
    global _hasher
    _hasher = DEFAULT
