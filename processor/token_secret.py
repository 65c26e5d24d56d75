"""The token secret: `TUMBLE_TOKEN_SECRET` if set, else the SSM SecureString parameter named
by `TUMBLE_TOKEN_SECRET_PARAMETER`, read once and kept while the function is warm."""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = ["PARAMETER_ENV", "SECRET_ENV", "SecretMissing", "TokenSecret"]

SECRET_ENV = "TUMBLE_TOKEN_SECRET"  # noqa: S105 - a variable name
PARAMETER_ENV = "TUMBLE_TOKEN_SECRET_PARAMETER"


class SecretMissing(RuntimeError):
    """Neither the variable nor the parameter gives a secret: a deployment error."""


class TokenSecret:
    """Lazily resolved; `ssm` is a boto3 SSM client (injected, created by the handler module)."""

    def __init__(self, ssm: Any, environ: Any = os.environ) -> None:
        self._ssm = ssm
        self._environ = environ
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._resolve()
        return self._value

    def _resolve(self) -> bytes:
        direct = self._environ.get(SECRET_ENV)
        if direct:
            return str(direct).encode()
        name = self._environ.get(PARAMETER_ENV)
        if not name:
            raise SecretMissing(f"set {SECRET_ENV} or {PARAMETER_ENV}")
        response = self._ssm.get_parameter(Name=name, WithDecryption=True)
        value = response["Parameter"]["Value"]
        if not value:
            raise SecretMissing(f"SSM parameter {name} is empty")
        return str(value).encode()
