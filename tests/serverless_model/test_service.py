from __future__ import annotations

import pytest

from serverless_model.config import ConfigError, Options
from serverless_model.service import load_service
from tests.conftest import SERVERLESS_YML


def test_tumbles_topology_is_read_from_serverless_yml():
    service = load_service(SERVERLESS_YML, Options(stage="local", account_id="123456789012"))
    assert service.name == "tumble" and service.stage == "local"
    assert service.route_selection_expression == "$request.body.action"
    assert set(service.routes) == {"$connect", "$disconnect", "subscribe", "submitIotEvent"}
    connect = service.routes["$connect"]
    assert connect.function == "connection_manager"
    assert connect.authorizer is not None
    assert connect.authorizer.function == "authorizer"
    assert connect.authorizer.identity_sources == ("route.request.querystring.token",)
    assert service.routes["subscribe"].route_response
    assert not service.routes["submitIotEvent"].route_response
    (trigger,) = service.triggers
    assert trigger.function == "send_iot_message"
    assert trigger.stream_arn.endswith(":123456789012:stream/tumble-local-iot-events")
    assert (trigger.batch_size, trigger.starting_position) == (1000, "LATEST")
    assert trigger.report_batch_item_failures and trigger.bisect_batch_on_function_error
    assert (trigger.maximum_retry_attempts, trigger.maximum_record_age_s) == (10, 3600)
    env = service.functions["subscribe"].environment
    assert env["CONNECTIONS_TABLE"] == "tumble-local-connections"
    assert service.functions["send_iot_message"].timeout_s == 120
    assert service.resources["IotEventsStream"]["Properties"]["ShardCount"] == 2


def test_shard_count_is_a_parameter():
    service = load_service(SERVERLESS_YML, Options(stage="x", params={"shardCount": "4"}))
    assert service.resources["IotEventsStream"]["Properties"]["ShardCount"] == "4"


def write(tmp_path, text):
    path = tmp_path / "serverless.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("provider: {name: aws}\n", "service", "required"),
        ("service: s\nfunctions:\n  f: {events: []}\n", "functions.f.handler", "required"),
        (
            "service: s\nfunctions:\n  f:\n    handler: m.h\n    events:\n      - stream:\n"
            "          arn: {Fn::GetAtt: [Missing, Arn]}\n",
            "resources.Resources.Missing",
            "not defined",
        ),
        (
            "service: s\nfunctions:\n  f:\n    handler: m.h\n    events:\n      - websocket:\n"
            "          route: $default\n          authorizer: nope\n",
            "functions.f.events[0].websocket.authorizer",
            "only allowed on the $connect route",
        ),
        (
            "service: s\nfunctions:\n  f:\n    handler: m.h\n    events:\n"
            "      - websocket: $default\n"
            "  g:\n    handler: m.g\n    events:\n      - websocket: $default\n",
            "functions.g.events[0].websocket.route",
            "already handled by f",
        ),
        (
            "service: s\nfunctions:\n  f:\n    handler: m.h\n    events:\n      - stream:\n"
            "          arn: arn:aws:kinesis:us-east-1:1:stream/s\n          batchSize: 20000\n",
            "functions.f.events[0].stream.batchSize",
            "1 to 10000",
        ),
    ],
)
def test_broken_files_name_file_key_and_problem(tmp_path, text, key, problem):
    with pytest.raises(ConfigError) as caught:
        load_service(write(tmp_path, text))
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(caught.value).startswith(str(tmp_path / "serverless.yml"))
