"""The parts of a serverless.yml service that the local stack runs: functions, WebSocket routes
with their authorizer, stream triggers, and CloudFormation resources. Loaded once, validated
up front, so a broken file stops start-up with the key at fault instead of failing later."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .config import ConfigError, Options, load_document, resolve
from .intrinsics import evaluate, pseudo_parameters
from .sqs import SqsTrigger, parse_sqs_event

__all__ = [
    "Authorizer",
    "Function",
    "Service",
    "SqsTrigger",
    "StreamTrigger",
    "WebSocketRoute",
    "load_service",
]

# Serverless Framework v3 defaults (lib/plugins/aws/package/compile/events/stream.js and the
# provider defaults), so the file means locally what it means on `serverless deploy`.
DEFAULT_TIMEOUT_S = 6
DEFAULT_MEMORY_MB = 1024
DEFAULT_STREAM_BATCH_SIZE = 10
DEFAULT_STARTING_POSITION = "TRIM_HORIZON"
DEFAULT_ROUTE_SELECTION = "$request.body.action"
# Lambda quotas: at most 10,000 records per Kinesis batch, a batching window of 300 s.
MAX_STREAM_BATCH_SIZE = 10_000
MAX_BATCHING_WINDOW_S = 300


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    handler: str
    timeout_s: float
    memory_mb: int
    environment: Mapping[str, str]
    # Serverless's `reservedConcurrency`: this function's own concurrency limit.
    reserved_concurrency: int | None = None

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True, slots=True)
class Authorizer:
    """A REQUEST authorizer; identity sources look like `route.request.querystring.token`."""

    function: str
    identity_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebSocketRoute:
    route_key: str
    function: str
    route_response: bool = False
    authorizer: Authorizer | None = None


@dataclass(frozen=True, slots=True)
class StreamTrigger:
    """One `stream` event: the Kinesis event source mapping of a function."""

    function: str
    stream_arn: str
    batch_size: int = DEFAULT_STREAM_BATCH_SIZE
    maximum_batching_window_s: float = 0
    starting_position: str = DEFAULT_STARTING_POSITION
    starting_position_timestamp: float | None = None
    maximum_retry_attempts: int = -1
    maximum_record_age_s: int = -1
    bisect_batch_on_function_error: bool = False
    parallelization_factor: int = 1
    report_batch_item_failures: bool = False
    on_failure_arn: str | None = None
    enabled: bool = True

    @property
    def stream_name(self) -> str:
        return self.stream_arn.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    path: Path
    stage: str
    region: str
    account_id: str
    route_selection_expression: str
    functions: Mapping[str, Function]
    routes: Mapping[str, WebSocketRoute]
    triggers: tuple[StreamTrigger, ...]
    resources: Mapping[str, Any]
    document: Mapping[str, Any] = field(repr=False)
    # `sqs` events: the SQS event source mappings (gateway_adapter.sqs_esm).
    sqs_triggers: tuple[SqsTrigger, ...] = ()

    def reserved_concurrency(self) -> dict[str, int]:
        """Each function's `reservedConcurrency`, for those that set one."""
        return {
            name: function.reserved_concurrency
            for name, function in self.functions.items()
            if function.reserved_concurrency is not None
        }

    def resource_arn(self, logical_id: str) -> str:
        """The ARN CloudFormation's `Fn::GetAtt [X, Arn]` would give for a known resource."""
        resource = self.resources.get(logical_id)
        if not isinstance(resource, Mapping):
            raise ConfigError(self.path, f"resources.Resources.{logical_id}", "is not defined")
        props = resource.get("Properties") or {}
        kind = resource.get("Type")
        prefix = f"arn:aws:{{}}:{self.region}:{self.account_id}"
        if kind == "AWS::Kinesis::Stream":
            return f"{prefix.format('kinesis')}:stream/{props.get('Name', logical_id)}"
        if kind == "AWS::DynamoDB::Table":
            return f"{prefix.format('dynamodb')}:table/{props.get('TableName', logical_id)}"
        if kind == "AWS::SQS::Queue":
            return f"{prefix.format('sqs')}:{props.get('QueueName', logical_id)}"
        if kind == "AWS::SNS::Topic":
            return f"{prefix.format('sns')}:{props.get('TopicName', logical_id)}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{props.get('BucketName', logical_id)}"
        raise ConfigError(
            self.path, f"resources.Resources.{logical_id}.Type", f"no local ARN for {kind}"
        )


def load_service(path: Path | str, options: Options | None = None) -> Service:
    path = Path(path)
    options = options or Options()
    document = resolve(load_document(path), options, path)
    provider = document.get("provider")
    provider = provider if isinstance(provider, dict) else {}
    name = document.get("service")
    name = name.get("name") if isinstance(name, dict) else name
    stage = str(options.stage or provider.get("stage") or "dev")
    region = str(options.region or provider.get("region") or "us-east-1")
    # The Framework names the stack `service-stage`.
    pseudo = pseudo_parameters(options.account_id, region, f"{name}-{stage}")
    return _Parser(path, evaluate(document, pseudo), options).service()


class _Parser:
    def __init__(self, path: Path, document: dict[str, Any], options: Options) -> None:
        self.path = path
        self.document = document
        self.options = options

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.path, key, problem)

    def mapping(self, node: Any, key: str) -> dict[str, Any]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            raise self.fail(key, f"must be a mapping, not {type(node).__name__}")
        return node

    def service(self) -> Service:
        doc = self.document
        name = doc.get("service")
        if isinstance(name, dict):
            name = name.get("name")
        if not isinstance(name, str) or not name:
            raise self.fail("service", "is required (the service's name)")
        provider = self.mapping(doc.get("provider"), "provider")
        resources = self.mapping(
            self.mapping(doc.get("resources"), "resources").get("Resources"), "resources.Resources"
        )
        functions_raw = self.mapping(doc.get("functions"), "functions")
        provider_env = self.environment(provider.get("environment"), "provider.environment")
        functions = {
            fname: self.function(
                fname, self.mapping(spec, f"functions.{fname}"), provider, provider_env
            )
            for fname, spec in functions_raw.items()
        }
        service = Service(
            name=name,
            path=self.path,
            stage=str(self.options.stage or provider.get("stage") or "dev"),
            region=str(self.options.region or provider.get("region") or "us-east-1"),
            account_id=self.options.account_id,
            route_selection_expression=str(
                provider.get("websocketsApiRouteSelectionExpression") or DEFAULT_ROUTE_SELECTION
            ),
            functions=functions,
            routes={},
            triggers=(),
            resources=resources,
            document=doc,
        )
        routes: dict[str, WebSocketRoute] = {}
        triggers: list[StreamTrigger] = []
        sqs_triggers: list[SqsTrigger] = []
        for fname, spec in functions_raw.items():
            events = spec.get("events") or []
            if not isinstance(events, list):
                raise self.fail(f"functions.{fname}.events", "must be a list")
            for index, event in enumerate(events):
                key = f"functions.{fname}.events[{index}]"
                if not isinstance(event, dict):
                    raise self.fail(key, "must be a mapping such as {websocket: ...}")
                if "websocket" in event:
                    route = self.route(fname, event["websocket"], f"{key}.websocket", functions)
                    if route.route_key in routes:
                        raise self.fail(
                            f"{key}.websocket.route",
                            f"{route.route_key} is already handled by "
                            f"{routes[route.route_key].function}",
                        )
                    routes[route.route_key] = route
                elif "stream" in event:
                    triggers.append(self.trigger(fname, event["stream"], f"{key}.stream", service))
                elif "sqs" in event:
                    sqs_triggers.append(
                        parse_sqs_event(
                            fname,
                            event["sqs"],
                            f"{key}.sqs",
                            lambda node, at: self.arn(node, at, service),
                            self.path,
                        )
                    )
        return replace(
            service, routes=routes, triggers=tuple(triggers), sqs_triggers=tuple(sqs_triggers)
        )

    def environment(self, raw: Any, key: str) -> dict[str, str]:
        env = self.mapping(raw, key)
        for name, value in env.items():
            if isinstance(value, dict | list):
                raise self.fail(
                    f"{key}.{name}",
                    "only Ref of a pseudo parameter and Fn::Join are resolved locally; use "
                    "a string or those",
                )
        return {name: "" if value is None else str(value) for name, value in env.items()}

    def function(
        self,
        name: str,
        spec: dict[str, Any],
        provider: dict[str, Any],
        provider_env: dict[str, str],
    ) -> Function:
        handler = spec.get("handler")
        if not isinstance(handler, str) or "." not in handler:
            raise self.fail(f"functions.{name}.handler", "is required, as module.function")
        env = {
            **provider_env,
            **self.environment(spec.get("environment"), f"functions.{name}.environment"),
        }
        return Function(
            name=name,
            handler=handler,
            timeout_s=float(spec.get("timeout") or provider.get("timeout") or DEFAULT_TIMEOUT_S),
            memory_mb=int(
                spec.get("memorySize") or provider.get("memorySize") or DEFAULT_MEMORY_MB
            ),
            environment=env,
            reserved_concurrency=self.reserved_concurrency(spec, name),
        )

    def reserved_concurrency(self, spec: Mapping[str, Any], name: str) -> int | None:
        value = spec.get("reservedConcurrency")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            # 0 is AWS's way to switch a function off: every invocation is throttled.
            raise self.fail(
                f"functions.{name}.reservedConcurrency", "must be a non-negative integer"
            )
        return value

    def route(
        self, fname: str, raw: Any, key: str, functions: Mapping[str, Function]
    ) -> WebSocketRoute:
        spec = {"route": raw} if isinstance(raw, str) else self.mapping(raw, key)
        route_key = spec.get("route")
        if not isinstance(route_key, str) or not route_key:
            raise self.fail(f"{key}.route", "is required")
        authorizer = None
        if "authorizer" in spec:
            if route_key != "$connect":
                raise self.fail(f"{key}.authorizer", "is only allowed on the $connect route")
            authorizer = self.authorizer(spec["authorizer"], f"{key}.authorizer", functions)
        return WebSocketRoute(
            route_key=route_key,
            function=fname,
            route_response=spec.get("routeResponseSelectionExpression") is not None,
            authorizer=authorizer,
        )

    def authorizer(self, raw: Any, key: str, functions: Mapping[str, Function]) -> Authorizer:
        spec = {"name": raw} if isinstance(raw, str) else self.mapping(raw, key)
        name = spec.get("name")
        if spec.get("arn") and not name:
            raise self.fail(key, "an authorizer given by ARN cannot run locally; name a function")
        if name not in functions:
            raise self.fail(f"{key}.name", f"{name!r} is not a function of this service")
        sources = spec.get("identitySource") or ["route.request.header.Auth"]
        if isinstance(sources, str):
            sources = [sources]
        return Authorizer(function=str(name), identity_sources=tuple(str(s) for s in sources))

    def trigger(self, fname: str, raw: Any, key: str, service: Service) -> StreamTrigger:
        spec = {"arn": raw} if isinstance(raw, str) else self.mapping(raw, key)
        if spec.get("type", "kinesis") != "kinesis" and "dynamodb" not in str(spec.get("arn")):
            raise self.fail(f"{key}.type", "only kinesis streams are run locally")
        arn = self.arn(spec.get("arn"), f"{key}.arn", service)
        if ":kinesis:" not in arn:
            raise self.fail(f"{key}.arn", f"{arn} is not a Kinesis stream")
        batch_size = int(spec.get("batchSize", DEFAULT_STREAM_BATCH_SIZE))
        if not 1 <= batch_size <= MAX_STREAM_BATCH_SIZE:
            raise self.fail(f"{key}.batchSize", f"must be 1 to {MAX_STREAM_BATCH_SIZE}")
        window = float(spec.get("maximumBatchingWindow", 0))
        if not 0 <= window <= MAX_BATCHING_WINDOW_S:
            raise self.fail(f"{key}.maximumBatchingWindow", f"must be 0 to {MAX_BATCHING_WINDOW_S}")
        position = str(spec.get("startingPosition", DEFAULT_STARTING_POSITION))
        if position not in ("LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"):
            raise self.fail(
                f"{key}.startingPosition", "must be LATEST, TRIM_HORIZON or AT_TIMESTAMP"
            )
        timestamp = spec.get("startingPositionTimestamp")
        if position == "AT_TIMESTAMP" and timestamp is None:
            raise self.fail(f"{key}.startingPositionTimestamp", "is required for AT_TIMESTAMP")
        parallelization = int(spec.get("parallelizationFactor", 1))
        if not 1 <= parallelization <= 10:
            raise self.fail(f"{key}.parallelizationFactor", "must be 1 to 10")
        on_failure = self.mapping(spec.get("destinations"), f"{key}.destinations").get("onFailure")
        if isinstance(on_failure, dict) and "arn" in on_failure:
            on_failure = on_failure["arn"]
        return StreamTrigger(
            function=fname,
            stream_arn=arn,
            batch_size=batch_size,
            maximum_batching_window_s=window,
            starting_position=position,
            starting_position_timestamp=float(timestamp) if timestamp is not None else None,
            maximum_retry_attempts=int(spec.get("maximumRetryAttempts", -1)),
            maximum_record_age_s=int(spec.get("maximumRecordAgeInSeconds", -1)),
            bisect_batch_on_function_error=bool(spec.get("bisectBatchOnFunctionError", False)),
            parallelization_factor=parallelization,
            report_batch_item_failures=spec.get("functionResponseType")
            == "ReportBatchItemFailures",
            on_failure_arn=(
                self.arn(on_failure, f"{key}.destinations.onFailure", service)
                if on_failure
                else None
            ),
            enabled=bool(spec.get("enabled", True)),
        )

    def arn(self, raw: Any, key: str, service: Service) -> str:
        if isinstance(raw, str) and raw.startswith("arn:"):
            return raw
        if isinstance(raw, dict) and "Fn::GetAtt" in raw:
            target = raw["Fn::GetAtt"]
            if isinstance(target, list) and len(target) == 2 and target[1] == "Arn":
                return service.resource_arn(str(target[0]))
        raise self.fail(key, "must be an ARN or Fn::GetAtt [Resource, Arn]")
