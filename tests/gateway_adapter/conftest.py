"""Fixtures of the gateway adapter's tests: a Gateway serving a fixture service on a free
loopback port, run on its own event loop in a background thread, so tests drive it with
ordinary blocking clients (websocket-client, boto3)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from gateway_adapter.apigateway.connection import GatewayConfig
from gateway_adapter.apigateway.server import Gateway
from gateway_adapter.lambda_runtime.runtime import LambdaRuntime
from serverless_model.config import Options
from serverless_model.service import load_service

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "chat"
CHAT_YML = FIXTURES / "serverless.yml"
PROBE_YML = FIXTURES / "probe.yml"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


class RunningGateway:
    """A Gateway on a private loop in a daemon thread; `stop()` runs its full shutdown."""

    def __init__(self, config: Path, stage: str = "test", **overrides: Any) -> None:
        self.service = load_service(config, Options(stage=stage, region=REGION))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runtime: LambdaRuntime = self.call(self._runtime)
        settings = {"stage": stage, "port": 0, **CREDENTIALS_CONFIG, **overrides}
        self.gateway = Gateway(self.service, self.runtime, GatewayConfig(**settings))
        self.call(self.gateway.start)

    async def _runtime(self) -> LambdaRuntime:
        return LambdaRuntime(self.service)

    def call(self, factory: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(factory(), self.loop).result(timeout)

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def management_url(self) -> str:
        """Where the events' domainName and stage say the @connections API is."""
        return f"http://{self.gateway.domain_name}/{self.gateway.config.stage}"

    def management(self, **kwargs: Any) -> Any:
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=self.management_url,
            region_name=REGION,
            aws_access_key_id=kwargs.pop("access_key", "test"),
            aws_secret_access_key=kwargs.pop("secret_key", "test"),
            **kwargs,
        )

    def stop(self) -> None:
        if not self.loop.is_running():
            return
        try:
            self.call(self.gateway.stop)
            self.call(self.runtime.close)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


CREDENTIALS_CONFIG = {"access_key": "test", "secret_key": "test"}


@pytest.fixture(scope="session", autouse=True)
def _handler_credentials() -> Iterator[None]:
    """Handlers build their own boto3 clients from the environment, as in Lambda."""
    with pytest.MonkeyPatch.context() as scoped:
        for name, value in {**CREDENTIALS, "AWS_DEFAULT_REGION": REGION}.items():
            scoped.setenv(name, value)
        scoped.delenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", raising=False)
        scoped.syspath_prepend(str(FIXTURES))
        yield


@pytest.fixture
def start_gateway() -> Iterator[Callable[..., RunningGateway]]:
    started: list[RunningGateway] = []

    def start(config: Path = PROBE_YML, **overrides: Any) -> RunningGateway:
        gateway = RunningGateway(config, **overrides)
        started.append(gateway)
        return gateway

    yield start
    for gateway in reversed(started):
        gateway.stop()


@pytest.fixture
def probe(start_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    import probe_handlers

    probe_handlers.EVENTS.clear()
    probe_handlers.CONTEXTS.clear()
    probe_handlers.SELF_POST.clear()
    return start_gateway(PROBE_YML)


@pytest.fixture
def chat(start_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    return start_gateway(CHAT_YML)
