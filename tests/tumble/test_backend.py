from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway_adapter.embedded.backend import free_port
from tumble.backend import (
    BackendError,
    choose_backend,
    docker_unavailable,
    localstack_healthy,
    localstack_url,
)
from tumble.localstack_host import host_mode_unavailable


class _FakeLocalStackHealth(BaseHTTPRequestHandler):
    """Answers only what the backend choice asks of a LocalStack: its health endpoint."""

    def do_GET(self):
        body = json.dumps({"services": {"kinesis": "running"}}).encode()
        self.send_response(200 if self.path == "/_localstack/health" else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def healthy_localstack():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLocalStackHealth)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def unreachable() -> dict[str, str]:
    return {"LOCALSTACK_HOST": f"127.0.0.1:{free_port()}"}


def test_an_explicit_endpoint_wins():
    backend = choose_backend({"AWS_ENDPOINT_URL": "http://127.0.0.1:9", **unreachable()})
    assert (backend.kind, backend.endpoint_url) == ("endpoint", "http://127.0.0.1:9")
    assert "AWS_ENDPOINT_URL is set" in backend.describe()


def test_a_running_localstack_is_used(healthy_localstack):
    backend = choose_backend({"LOCALSTACK_HOST": healthy_localstack})
    assert backend.kind == "localstack" and not backend.started_localstack
    assert backend.endpoint_url == f"http://{healthy_localstack}"
    assert "_localstack/health" in backend.reason


def test_backend_localstack_starts_one_by_docker_or_in_host_mode_or_says_why_not():
    env = {"BACKEND": "localstack", **unreachable()}
    no_docker, no_host = docker_unavailable(), host_mode_unavailable()
    if no_docker is None:
        assert choose_backend(env).start == "docker"
    elif no_host is None:
        backend = choose_backend(env)
        assert (backend.kind, backend.start) == ("localstack", "host")
        assert f"host mode, no Docker ({no_docker})" in backend.describe()
    else:
        with pytest.raises(BackendError, match="no Docker"):
            choose_backend(env)


def test_backend_localstack_modes_that_cannot_be_had_are_errors():
    env = {"BACKEND": "localstack", **unreachable()}
    with pytest.raises(BackendError, match="LOCALSTACK_MODE='kubernetes': expected docker or host"):
        choose_backend({**env, "LOCALSTACK_MODE": "kubernetes"})
    if docker_unavailable() is not None:
        with pytest.raises(BackendError, match="LOCALSTACK_MODE=docker: no"):
            choose_backend({**env, "LOCALSTACK_MODE": "docker"})


def test_embedded_is_the_default_and_says_why():
    backend = choose_backend(unreachable())
    assert backend.kind == "embedded" and backend.endpoint_url is None
    assert "no LocalStack reachable" in backend.describe()


def test_health_of_something_that_is_not_localstack(aws_endpoint):
    assert not localstack_healthy(aws_endpoint)  # moto answers 404 there
    assert localstack_url({}) == "http://localhost:4566"
    assert localstack_url({"LOCALSTACK_HOST": "box:4000", "USE_SSL": "1"}) == "https://box:4000"
