"""One rule for where a connection's @connections API is: the processor's (what runs in Lambda)
follows the one the emulator documents (gateway_adapter.apigateway.events' docstring) on every
domain name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.endpoints import management_endpoint

DOMAINS = [
    "127.0.0.1",
    "127.0.0.1:3001",
    "localhost",
    "localhost:3001",
    "LOCALHOST:80",
    "LocalHost",
    "[::1]",
    "[::1]:3001",
    "::1",
    "[::1",
    "127.0.0.2:3001",
    "localhost.example.com",
    "abc123.execute-api.us-east-1.amazonaws.com",
    "10.0.0.1:80",
]


def documented_rule(domain: str, stage: str, env: dict[str, str]) -> str:
    """gateway_adapter.apigateway.events' docstring, read literally: the configured endpoint, else
    HTTP for a loopback host (127.0.0.1, localhost in any case, [::1]; a bare ::1 is no host:port),
    else HTTPS."""
    explicit = env.get("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI")
    if explicit:
        return explicit.rstrip("/")
    if domain.startswith("["):
        host = domain[: domain.find("]") + 1]
    else:
        host = domain.split(":", 1)[0] if domain.count(":") == 1 else domain
    scheme = "http" if host.lower() in ("127.0.0.1", "localhost", "[::1]") else "https"
    return f"{scheme}://{domain}/{stage}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_processor_follows_the_documented_rule(domain):
    assert management_endpoint(domain, "local", {}) == documented_rule(domain, "local", {})


@pytest.mark.parametrize(
    ("domain", "scheme"),
    [
        ("LOCALHOST:80", "http"),
        ("::1", "https"),
        ("[::1]:1", "http"),
        ("127.0.0.1:3001", "http"),
        ("abc.execute-api.us-east-1.amazonaws.com", "https"),
    ],
)
def test_the_cases_two_copies_once_disagreed_on(domain, scheme):
    assert management_endpoint(domain, "s", {}) == f"{scheme}://{domain}/s"


def test_the_configured_endpoint_wins():
    env = {"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "http://127.0.0.1:9/x/"}
    assert management_endpoint("a.b", "s", env) == "http://127.0.0.1:9/x"


@given(st.text(alphabet="[]:.0123456789abcdefhlostLOCALH", max_size=24))
def test_it_follows_the_rule_on_any_domain(domain):
    assert management_endpoint(domain, "s", {}) == documented_rule(domain, "s", {})
