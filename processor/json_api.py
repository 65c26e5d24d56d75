"""AWS's JSON protocol over processor.transport, signed with processor.sigv4: DynamoDB's Query (the
subscriber lookup that every event makes) and, for a fan-out that splits, DynamoDB's
UpdateItem and GetItem and SQS's GetQueueUrl and SendMessageBatch, without botocore's
per-call pipeline.

The lookup is on the hot path of both paths, and on a machine that idles between events
botocore spends about 1.8 ms of CPU on one Query (0.9 ms when warm), as much as the server
answering it; on Lambda that CPU is billed. This client keeps what matters of botocore's: the
endpoint and region its client resolved (AWS_ENDPOINT_URL and the rest of the configuration
chain), credentials from the session's chain, SigV4 as botocore signs a JSON-protocol call
(tests/processor/test_dynamodb_api.py compares the two byte for byte), the x-amz-crc32 check,
base64-decoded binary values, and its retry rule for DynamoDB: throttling, 5xx, a bad checksum
and no answer are tried again with backoff (10 attempts, base 50 ms), anything else raises the
ClientError botocore would raise, with the same error code. SQS speaks the same protocol
(AWS JSON 1.0, `AmazonSQS.` targets) with botocore's standard rule instead: 3 attempts."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from botocore.exceptions import ClientError

from messages.backoff import full_jitter_s

from .sigv4 import SigV4Signer, amz_date, endpoint_target
from .transport import LazyHttp, SessionCredentials

__all__ = [
    "DYNAMODB",
    "MAX_ATTEMPTS",
    "RETRYABLE_CODES",
    "SQS",
    "JsonProtocol",
    "SignedJsonApi",
]

_CONTENT_TYPE = "application/x-amz-json-1.0"
# botocore's legacy retry rule for DynamoDB (its _retry.json): 10 attempts from 50 ms, doubling;
# here with full jitter (messages.backoff) and a cap, so retries spread and stay within a
# Lambda's time.
MAX_ATTEMPTS = 10
BASE_S = 0.05
CAP_S = 2.0
# The error codes botocore's retry handler treats as throttling for DynamoDB.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "TransactionInProgressException",
    }
)
_SKIP_HEADERS = ("Accept-Encoding",)  # botocore asks for no encoding: the CRC is of the bytes


@dataclass(frozen=True, slots=True)
class JsonProtocol:
    """What differs between two services of the JSON protocol, as botocore's models say."""

    signing_service: str
    target_prefix: str
    max_attempts: int
    binary_values: bool  # DynamoDB's "B" and "BS" values arrive base64-encoded


DYNAMODB = JsonProtocol("dynamodb", "DynamoDB_20120810.", MAX_ATTEMPTS, binary_values=True)
# botocore's standard retry mode (SQS has no legacy rule of its own): 3 attempts.
SQS = JsonProtocol("sqs", "AmazonSQS.", 3, binary_values=False)


class _Retryable(Exception):
    def __init__(self, status: int | None, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SignedJsonApi:
    """One aiohttp session with kept-alive connections to one service's endpoint, built on
    first use on the loop that uses it. `call` takes and returns what boto3's low-level client
    does (for DynamoDB: attribute values as `{"S": ...}`, binary values as bytes)."""

    def __init__(
        self,
        endpoint_url: str,
        credentials: SessionCredentials,
        signer: SigV4Signer,
        pool_size: int = 8,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        draw: Callable[[], float] = random.random,
        protocol: JsonProtocol = DYNAMODB,
        max_attempts: int | None = None,
    ) -> None:
        self._where = endpoint_target(endpoint_url)
        self._credentials = credentials
        self._signer = signer
        self._http = LazyHttp(pool_size, _SKIP_HEADERS)
        self._sleep = sleep
        self._draw = draw
        self._protocol = protocol
        self._max_attempts = max_attempts or protocol.max_attempts
        self.attempts = 0  # calls sent, retries included

    async def query(self, request: dict[str, Any]) -> dict[str, Any]:
        return await self.call("Query", request)

    async def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """One JSON-protocol operation, retried as botocore retries the service's."""
        body = json.dumps(request, separators=(",", ":")).encode()
        attempt = 0
        while True:
            try:
                return await self._send(operation, body)
            except _Retryable as failure:
                attempt += 1
                if attempt >= self._max_attempts:
                    error = _client_error(failure.status, failure.code, failure.message, operation)
                    raise error from None
                await self._sleep(full_jitter_s(attempt - 1, self._draw(), BASE_S, CAP_S))

    async def _send(self, operation: str, body: bytes) -> dict[str, Any]:
        target = f"{self._protocol.target_prefix}{operation}"
        signed = {"Content-Type": _CONTENT_TYPE, "X-Amz-Target": target}
        credentials = await self._credentials.frozen()
        stamp = amz_date(time.time())
        headers = self._signer.headers("POST", self._where, body, credentials, stamp, signed)
        headers.update(signed)
        self.attempts += 1
        try:
            request = self._http.session().post(self._where.url, data=body, headers=headers)
            async with request as reply:
                data = await reply.read()
                status, expected_crc = reply.status, reply.headers.get("x-amz-crc32")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _Retryable(None, type(exc).__name__, str(exc) or type(exc).__name__) from exc
        if expected_crc is not None and str(zlib.crc32(data)) != expected_crc:
            raise _Retryable(status, "CRC32CheckFailed", "the response's CRC32 did not match")
        answer = _json(data)
        if status >= 300:
            code = str(answer.get("__type", "")).rsplit("#", 1)[-1] or str(status)
            message = str(answer.get("message") or answer.get("Message") or "")
            if status >= 500 or code in RETRYABLE_CODES:
                raise _Retryable(status, code, message)
            raise _client_error(status, code, message, operation)
        # A binary value somewhere ("B" or "BS"): botocore decodes those.
        if self._protocol.binary_values and b'"B' in data:
            answer = _decode_binary(answer)
        return answer

    async def close(self) -> None:
        await self._http.close()


def _json(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _client_error(status: int | None, code: str, message: str, operation: str) -> ClientError:
    """The error botocore raises for the same answer (its shape: Error and ResponseMetadata)."""
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status or 0},
    }
    return ClientError(response, operation)


def _decode_binary(value: Any) -> Any:
    """Every "B" and "BS" attribute value decoded from base64, at any depth, as botocore's
    JSON parser does for blob members."""
    if isinstance(value, list):
        return [_decode_binary(item) for item in value]
    if not isinstance(value, dict):
        return value
    decoded: dict[str, Any] = {}
    for key, item in value.items():
        if key == "B" and isinstance(item, str):
            decoded[key] = base64.b64decode(item)
        elif key == "BS" and isinstance(item, list):
            decoded[key] = [base64.b64decode(part) for part in item]
        else:
            decoded[key] = _decode_binary(item)
    return decoded
