"""The column types that seal personal data as it is written and open it as it is read; the models use them,
so they sit below the models and know nothing of them. The column's name is the associated data, so a
ciphertext cannot be moved to another column."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Text, TypeDecorator
from sqlalchemy.engine import Dialect

from triage_service.encryption.fields import is_sealed, seal, unseal


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document stored as an encrypted token (a JSON string, so the column stays JSON)."""

    impl = JSON
    cache_ok = True

    def __init__(self, context: str):
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return seal(json.dumps(value, separators=(",", ":"), ensure_ascii=False), self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and is_sealed(value):
            return json.loads(unseal(value, self.context))
        return value  # written before encryption: plain JSON



class EncryptedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def __init__(self, context: str):
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(value, self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and is_sealed(value):
            return unseal(value, self.context)
        return value
