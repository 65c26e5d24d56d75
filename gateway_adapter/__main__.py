"""`python -m gateway_adapter`: the local API Gateway WebSocket API, its @connections API and
the Lambda runtime for one serverless.yml service, plus its Kinesis stream and SQS triggers.

SIGINT/SIGTERM close every connection (each with its $disconnect), stop the triggers and
exit 0."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_model.config import DEFAULT_ACCOUNT_ID, ConfigError, Options
from serverless_model.service import Service, load_service

from .apigateway.connection import GatewayConfig
from .apigateway.limits import CONNECT_RATE_PER_S, IDLE_TIMEOUT_S, MAX_LIFETIME_S
from .apigateway.logs import configure_logging
from .lambda_runtime.concurrency import DEFAULT_ACCOUNT_CONCURRENCY, ConcurrencyPool
from .lambda_runtime.sandboxes import ArtifactError
from .sqs_esm.decisions import MappingError

if TYPE_CHECKING:
    from .lambda_runtime.sandboxes import Sandboxes

__all__ = ["main", "parse_args"]

log = logging.getLogger("gateway_adapter")

LOOPS = ("auto", "asyncio", "uvloop")
DEFAULT_LOOP = "asyncio"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gateway_adapter", description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("serverless.yml"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001, help="0: any free port")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--region", default=None)
    parser.add_argument("--no-auth", action="store_true", help="accept unsigned @connections")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument("--log-level", default="INFO", help="WARNING drops the access lines")
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        default=DEFAULT_LOOP,
        help="the event loop (auto: uvloop when installed; default %(default)s)",
    )
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_S, metavar="S")
    parser.add_argument("--max-lifetime", type=float, default=MAX_LIFETIME_S, metavar="S")
    parser.add_argument("--connect-rate", type=int, default=CONNECT_RATE_PER_S, metavar="N")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_ACCOUNT_CONCURRENCY,
        metavar="N",
        help="the account's concurrent executions, shared by the functions (reservedConcurrency "
        "takes its share); past it an invocation is throttled (default %(default)s, Lambda's)",
    )
    parser.add_argument("--triggers-only", action="store_true", help="no HTTP server")
    parser.add_argument("--no-triggers", action="store_true", help="no stream or sqs triggers")
    parser.add_argument("--poll-interval", type=float, default=1.0, metavar="S")
    artifact = parser.add_mutually_exclusive_group()
    artifact.add_argument(
        "--artifact",
        type=Path,
        metavar="PATH",
        help="run every function from this built artifact (zip or directory) in sandbox "
        "processes, not from the source tree",
    )
    artifact.add_argument(
        "--from-artifact",
        action="store_true",
        help="the same with each function's package.artifact from the config file",
    )
    parser.add_argument(
        "--python",
        default=None,
        metavar="PATH",
        help="the sandboxes' interpreter (default: the one provider.runtime names, if found)",
    )
    return parser.parse_args(argv)


def _account_id() -> str:
    """The backend's account (STS) when an endpoint is configured, else the local default."""
    if not os.environ.get("AWS_ENDPOINT_URL"):
        return DEFAULT_ACCOUNT_ID
    import boto3

    try:
        account: str = boto3.client("sts").get_caller_identity()["Account"]
    except Exception as error:
        log.warning("STS get_caller_identity failed (%s); account %s", error, DEFAULT_ACCOUNT_ID)
        return DEFAULT_ACCOUNT_ID
    return account


def _sandboxes(args: argparse.Namespace, service: Service) -> Sandboxes | None:
    if not (args.artifact or args.from_artifact):
        return None
    from .lambda_runtime.sandboxes import Sandboxes, artifact_paths

    artifact = args.artifact.resolve() if args.artifact else None
    return Sandboxes(service, artifact_paths(service, artifact), python=args.python)


async def serve(args: argparse.Namespace, service: Service) -> int:
    from .apigateway.server import Gateway
    from .lambda_runtime.runtime import LambdaRuntime

    runtime = LambdaRuntime(
        service, sandboxes=_sandboxes(args, service), concurrency=args.concurrency
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    gateway: Gateway | None = None
    esm: Any = None
    sqs_esm: Any = None
    try:
        await runtime.warm()
        # Triggers first: once the WebSocket API answers, a record put on the stream is
        # already covered by a lease, so nothing sent right after start-up is missed.
        if service.triggers and not args.no_triggers:
            from .esm import EventSourceMappings

            esm = EventSourceMappings(service, runtime.invoke, poll_interval=args.poll_interval)
            await esm.start()
            log.info("stream triggers running: %d", len(service.triggers))
        if service.sqs_triggers and not args.no_triggers:
            from .sqs_esm.poller import SqsEventSourceMappings

            sqs_esm = SqsEventSourceMappings(
                service, runtime.invoke, local_slots=runtime.local_slots
            )
            await sqs_esm.start()
            log.info("sqs triggers running: %d", len(sqs_esm.triggers))
        if not args.triggers_only:
            config = GatewayConfig(
                stage=args.stage,
                host=args.host,
                port=args.port,
                auth=not args.no_auth,
                idle_timeout_s=args.idle_timeout,
                max_lifetime_s=args.max_lifetime,
                connect_rate=args.connect_rate,
            )
            gateway = Gateway(service, runtime, config)
            await gateway.start()
        if gateway is not None:
            print(f"gateway ready: {gateway.url}", flush=True)
        else:
            print("gateway ready: triggers only", flush=True)
        await stop.wait()
        log.info("shutting down")
    finally:
        if gateway is not None:
            await gateway.stop()
        if sqs_esm is not None:
            await sqs_esm.stop()
        if esm is not None:
            await esm.stop()
        await runtime.close()
    return 0


def chosen_loop(requested: str, uvloop_installed: bool) -> str:
    """Which event loop serves: uvloop only when asked for (`auto` takes it when installed);
    asking for uvloop without it installed is an error, not a quiet fallback."""
    if requested == "uvloop" and not uvloop_installed:
        raise ValueError("--loop uvloop: uvloop is not installed (pip install uvloop)")
    if requested == "auto":
        return "uvloop" if uvloop_installed else "asyncio"
    return requested


def _use_loop(requested: str) -> str:
    """Sets the process's event loop policy, so the loop the in-process handlers start for
    their clients (processor.runtime.LoopThread) is the same kind as the gateway's."""
    installed = importlib.util.find_spec("uvloop") is not None
    loop = chosen_loop(requested, installed)
    if loop == "uvloop":
        uvloop = importlib.import_module("uvloop")  # optional: typed the same either way
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return loop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.log_format, args.log_level.upper())
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    try:
        service = load_service(
            args.config, Options(stage=args.stage, region=region, account_id=_account_id())
        )
    except ConfigError as error:
        print(f"gateway_adapter: {error}", file=sys.stderr, flush=True)
        return 2
    try:
        # the reservations must fit the pool, as AWS checks at deploy time
        ConcurrencyPool(args.concurrency, service.reserved_concurrency())
        log.info("event loop: %s", _use_loop(args.loop))
    except ValueError as error:
        print(f"gateway_adapter: {error}", file=sys.stderr, flush=True)
        return 2
    try:
        return asyncio.run(serve(args, service))
    except (ArtifactError, MappingError) as error:
        print(f"gateway_adapter: {error}", file=sys.stderr, flush=True)
        return 2
    except OSError as error:
        print(f"gateway_adapter: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
