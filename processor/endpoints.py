"""Where the @connections API of a connection lives, from the standard configuration and the
event alone, so the same code posts to AWS and to the local gateway.

On AWS the connection's own `domainName` is not always the API's: behind a custom domain it is
the custom host, whose @connections URL works only if the mapping path equals the stage. API
Gateway's own host, `{apiId}.execute-api.{region}.amazonaws.com`, always works, so that is
the domain stored with each connection (and reused by the Kinesis path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ENDPOINT_ENV", "is_loopback", "management_domain", "management_endpoint"]

# botocore's service-specific endpoint variable (AWS_ENDPOINT_URL_<SERVICE_ID>).
ENDPOINT_ENV = "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _host(domain_name: str) -> str:
    if domain_name.startswith("["):
        return domain_name[1 : domain_name.find("]")] if "]" in domain_name else domain_name
    return domain_name.split(":", 1)[0] if domain_name.count(":") == 1 else domain_name


def is_loopback(domain_name: str) -> bool:
    """127.0.0.1, localhost or [::1], with or without a port."""
    return _host(domain_name).lower() in _LOOPBACK_HOSTS and domain_name != "::1"


def management_domain(request_context: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """The host of the connection's @connections API: API Gateway's own on AWS (`apiId` is in
    every event, the region in AWS_REGION); the event's `domainName` for a loopback gateway,
    when the endpoint is configured (ENDPOINT_ENV: a local gateway on another host), or when
    either is unknown."""
    domain = str(request_context.get("domainName") or "")
    api_id = str(request_context.get("apiId") or "")
    region = environ.get("AWS_REGION") or ""
    if is_loopback(domain) or not api_id or not region or environ.get(ENDPOINT_ENV):
        return domain
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{api_id}.execute-api.{region}.{suffix}"


def management_endpoint(domain_name: str, stage: str, environ: Mapping[str, str]) -> str:
    """The endpoint_url for `apigatewaymanagementapi`: the configured one if any, else plain HTTP
    for a loopback gateway and HTTPS for API Gateway itself."""
    configured = environ.get(ENDPOINT_ENV)
    if configured:
        return configured.rstrip("/")
    scheme = "http" if is_loopback(domain_name) else "https"
    return f"{scheme}://{domain_name}/{stage}"
