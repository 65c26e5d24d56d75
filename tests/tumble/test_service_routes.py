from __future__ import annotations

import pytest

from tumble.localstack_host import UNSERVED, host_environment, host_mode_unavailable
from tumble.service_routes import (
    EMBEDDED,
    LOCALSTACK,
    STACK_SERVICES,
    UnservedService,
    endpoint_variable,
    route_lines,
    route_services,
)

HOST_HEALTH = {
    "services": dict.fromkeys(STACK_SERVICES, "available") | {"dynamodb": "disabled"},
    "version": "4.14.0",
}


def test_host_mode_sends_dynamodb_to_the_embedded_backend_saying_why():
    routes = {route.service: route for route in route_services(HOST_HEALTH, UNSERVED)}
    assert routes["dynamodb"].backend == EMBEDDED and "Java" in routes["dynamodb"].why
    assert all(routes[name].backend == LOCALSTACK for name in STACK_SERVICES if name != "dynamodb")
    assert routes["kinesis"].why == "LocalStack 4.14.0 reports it available"


def test_a_running_localstack_without_dynamodb_says_what_its_health_says():
    (dynamodb,) = [r for r in route_services(HOST_HEALTH) if r.service == "dynamodb"]
    assert (dynamodb.backend, dynamodb.why) == (EMBEDDED, "LocalStack reports it disabled")


def test_a_localstack_serving_everything_serves_everything():
    health = {"services": dict.fromkeys(STACK_SERVICES, "running"), "version": "4.14.0"}
    assert {route.backend for route in route_services(health)} == {LOCALSTACK}


def test_a_missing_service_without_a_stand_in_is_an_error():
    health = {"services": {"dynamodb": "running"}, "version": "4.14.0"}
    with pytest.raises(
        UnservedService, match=r"does not serve kinesis \(LocalStack reports it absent\)"
    ):
        route_services(health)


def test_the_banner_gives_one_aligned_line_per_service():
    routes = route_services(HOST_HEALTH, UNSERVED)
    lines = route_lines(
        routes, {LOCALSTACK: "http://127.0.0.1:4566", EMBEDDED: "http://127.0.0.1:4567"}
    )
    assert len(lines) == len(STACK_SERVICES)
    assert (
        lines[0] == "  kinesis   LocalStack at http://127.0.0.1:4566 (LocalStack 4.14.0 reports it "
        "available)"
    )
    assert lines[1].startswith(
        "  dynamodb  embedded at http://127.0.0.1:4567 (LocalStack's DynamoDB"
    )
    assert endpoint_variable("dynamodb") == "AWS_ENDPOINT_URL_DYNAMODB"


def test_host_environment_is_fast_faithful_and_keeps_our_endpoints_away():
    env = host_environment(
        {"AWS_ENDPOINT_URL": "http://x", "AWS_ENDPOINT_URL_DYNAMODB": "http://y", "KEEP": "1"},
        "127.0.0.1",
        4599,
    )
    assert env["GATEWAY_LISTEN"] == "127.0.0.1:4599" and env["KEEP"] == "1"
    assert "AWS_ENDPOINT_URL" not in env and "AWS_ENDPOINT_URL_DYNAMODB" not in env
    assert env["KINESIS_LATENCY"] == "0" and env["KINESIS_ERROR_PROBABILITY"] == "0.0"
    assert env["OVERRIDE_IN_DOCKER"] == "0" and env["FILESYSTEM_ROOT"].endswith(
        ".localstack/filesystem"
    )
    assert "dynamodb" not in env["SERVICES"].split(",")
    assert host_environment({"KINESIS_LATENCY": "500"}, "127.0.0.1", 1)["KINESIS_LATENCY"] == "500"


def test_an_uninstalled_host_mode_says_how_to_install_it(tmp_path):
    reason = host_mode_unavailable(tmp_path)
    assert reason is not None
    assert "make .localstack/.installed" in reason or "needs Python 3.13" in reason
