"""One request to moto in-process, for the patches' self-comparisons: moto's own Flask app of
a service (what its server dispatches to), called through werkzeug's test client, in an
account of its own (`x-moto-account-id`) that is dropped afterwards, so the server's real
accounts never see the probe."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

from moto import backends
from moto.moto_server.werkzeug_app import create_backend_app

__all__ = ["PROBE_ACCOUNT", "MotoProbe"]

PROBE_ACCOUNT = "999999999942"  # no real account: AWS account ids are assigned, not chosen
_REGION = "us-east-1"
_PROTOCOLS = {  # service -> (X-Amz-Target prefix, Content-Type), from the services' models
    "kinesis": ("Kinesis_20131202", "application/x-amz-json-1.1"),
    "dynamodb": ("DynamoDB_20120810", "application/x-amz-json-1.0"),
    "sqs": ("AmazonSQS", "application/x-amz-json-1.0"),
}


class MotoProbe:
    def __init__(self, service: str) -> None:
        self.service = service
        self._target, self._content_type = _PROTOCOLS[service]
        self._client = create_backend_app(service).test_client()  # type: ignore[arg-type]

    def call(self, action: str, body: dict[str, Any]) -> tuple[int, Any]:
        """(status, parsed JSON body) of one JSON-protocol call."""
        credential = f"test/20260101/{_REGION}/{self.service}/aws4_request"
        response = self._client.post(
            "/",
            data=json.dumps(body),
            headers={
                "X-Amz-Target": f"{self._target}.{action}",
                "Content-Type": self._content_type,
                "Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, "
                "SignedHeaders=host, Signature=0",
                "x-moto-account-id": PROBE_ACCOUNT,
            },
        )
        return response.status_code, json.loads(response.get_data() or b"null")

    def backend(self, region: str = _REGION) -> Any:
        """The probe account's backend of the service, for a patch that checks its state."""
        return backends.get_backend(self.service)[PROBE_ACCOUNT][region]  # type: ignore[call-overload]

    def close(self) -> None:
        backends.get_backend(self.service).pop(PROBE_ACCOUNT, None)  # type: ignore[call-overload]

    def __enter__(self) -> MotoProbe:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
