"""Which backend serves each AWS service of the stack when LocalStack is the backend, and the
banner lines that say so. Pure: the health answer comes in, routes and lines go out.

LocalStack serves every service its health endpoint reports available or running. The one
with a stand-in is DynamoDB, which host-mode LocalStack cannot run here: it goes to the
embedded backend, through AWS_ENDPOINT_URL_DYNAMODB (honoured by boto3, aiobotocore and so by
every client of the stack). Any other service LocalStack does not serve is an error: the
stack would otherwise half-work against a backend the user did not ask for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EMBEDDED",
    "LOCALSTACK",
    "STACK_SERVICES",
    "Route",
    "UnservedService",
    "endpoint_variable",
    "route_lines",
    "route_services",
]

LOCALSTACK = "LocalStack"
EMBEDDED = "embedded"
# Every AWS service the stack calls: serverless.yml's resources (stream, table, bucket, the
# trigger's OnFailure queue, topics), the token secret (SSM), the account (STS).
STACK_SERVICES = ("kinesis", "dynamodb", "s3", "ssm", "sqs", "sns", "sts")
SERVING = ("available", "running")
STAND_INS = ("dynamodb",)


class UnservedService(RuntimeError):
    """LocalStack does not serve a service the stack needs, and nothing stands in for it."""


@dataclass(frozen=True, slots=True)
class Route:
    service: str
    backend: str  # LOCALSTACK or EMBEDDED
    why: str


def endpoint_variable(service: str) -> str:
    """The SDKs' per-service endpoint setting (AWS_ENDPOINT_URL_<SERVICE_ID>)."""
    return f"AWS_ENDPOINT_URL_{service.upper()}"


def route_services(
    health: Mapping[str, Any], known_unserved: Mapping[str, str] | None = None
) -> list[Route]:
    """One route per service of STACK_SERVICES, from LocalStack's `/_localstack/health`
    answer. `known_unserved` names services LocalStack cannot run here whatever its health
    says (host mode's DynamoDB), with the reason."""
    known_unserved = known_unserved or {}
    states = health.get("services") or {}
    version = health.get("version") or "?"
    routes = []
    for service in STACK_SERVICES:
        state = states.get(service, "absent")
        if service not in known_unserved and state in SERVING:
            routes.append(Route(service, LOCALSTACK, f"LocalStack {version} reports it {state}"))
            continue
        why = known_unserved.get(service) or f"LocalStack reports it {state}"
        if service not in STAND_INS:
            raise UnservedService(
                f"LocalStack does not serve {service} ({why}); the stack needs "
                f"{', '.join(STACK_SERVICES)}"
            )
        routes.append(Route(service, EMBEDDED, why))
    return routes


def route_lines(routes: Sequence[Route], endpoints: Mapping[str, str]) -> list[str]:
    """The banner: one line per service, `endpoints` mapping each backend to its URL."""
    width = max(len(route.service) for route in routes)
    return [
        f"  {route.service:<{width}}  {route.backend} at {endpoints[route.backend]} ({route.why})"
        for route in routes
    ]
