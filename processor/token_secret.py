"""The token secret of a Lambda function, resolved by `messages.tokens.resolve_secret` (the
variable, else the SSM parameter its deployment names) once, and kept while the function is
warm."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from messages.tokens import resolve_secret

__all__ = ["TokenSecret"]


class TokenSecret:
    """Lazily resolved; `ssm` is a boto3 SSM client (injected, created by the handler module).
    A failed resolution is not kept, so the next invocation tries again."""

    def __init__(self, ssm: Any, environ: Mapping[str, str] = os.environ) -> None:
        self._ssm = ssm
        self._environ = environ
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = resolve_secret(self._environ, self._read)
        return self._value

    def _read(self, name: str) -> str:
        response = self._ssm.get_parameter(Name=name, WithDecryption=True)
        return str(response["Parameter"]["Value"])
