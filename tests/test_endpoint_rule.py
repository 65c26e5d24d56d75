"""One rule for where a connection's @connections API is: the processor's (what runs in Lambda)
and the emulator's documented one (gateway_adapter.events) agree on every domain name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway_adapter import events
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


@pytest.mark.parametrize("domain", DOMAINS)
def test_processor_and_emulator_agree(domain):
    assert management_endpoint(domain, "local", {}) == events.management_endpoint(
        domain, "local", {}
    )


@pytest.mark.parametrize(
    ("domain", "scheme"), [("LOCALHOST:80", "http"), ("::1", "https"), ("[::1]:1", "http")]
)
def test_the_cases_they_once_disagreed_on(domain, scheme):
    assert events.management_endpoint(domain, "s", {}) == f"{scheme}://{domain}/s"


def test_the_configured_endpoint_wins_on_both_sides():
    env = {"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "http://127.0.0.1:9/x/"}
    assert management_endpoint("a.b", "s", env) == events.management_endpoint("a.b", "s", env)


@given(st.text(alphabet="[]:.0123456789abcdefhlostLOCALH", max_size=24))
def test_they_agree_on_any_domain(domain):
    assert management_endpoint(domain, "s", {}) == events.management_endpoint(domain, "s", {})
