"""The token secrets of a Lambda function, resolved by `messages.tokens.resolve_secrets` (the
variable, else the SSM parameter its deployment names) and kept for SECRET_CACHE_S while the
function is warm, so a secret rotated in SSM takes effect within that time without a restart."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from messages.tokens import SECRET_CACHE_S, resolve_secrets

__all__ = ["TokenSecret"]


class TokenSecret:
    """Lazily resolved and re-read after `ttl_s`; `ssm` is a boto3 SSM client (injected, created
    by the handler module). A failed first resolution is not kept, so the next invocation tries
    again; a failed refresh keeps serving the last good value (SSM briefly unreachable must not
    lock everyone out) and tries again on the next call."""

    def __init__(
        self,
        ssm: Any,
        environ: Mapping[str, str] = os.environ,
        ttl_s: float = SECRET_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ssm = ssm
        self._environ = environ
        self._ttl_s = ttl_s
        self._clock = clock
        self._values: tuple[bytes, ...] = ()
        self._read_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> tuple[bytes, ...]:
        """Every secret that verifies (newest first; the first signs)."""
        if self._values and self._clock() - self._read_at < self._ttl_s:
            return self._values
        with self._lock:
            if not self._values or self._clock() - self._read_at >= self._ttl_s:
                try:
                    self._values = resolve_secrets(self._environ, lambda: self._ssm)
                    self._read_at = self._clock()
                except Exception:
                    if not self._values:
                        raise
        return self._values
