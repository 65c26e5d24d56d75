from __future__ import annotations

import pytest

from processor.endpoints import ENDPOINT_ENV, is_loopback, management_endpoint


@pytest.mark.parametrize(
    "domain",
    [
        "127.0.0.1",
        "127.0.0.1:3001",
        "localhost",
        "localhost:8080",
        "LOCALHOST",
        "[::1]",
        "[::1]:3001",
    ],
)
def test_loopback_gateways_get_plain_http(domain):
    assert is_loopback(domain)
    assert management_endpoint(domain, "local", {}) == f"http://{domain}/local"


@pytest.mark.parametrize(
    "domain",
    [
        "abc123.execute-api.us-east-1.amazonaws.com",
        "127.0.0.2",
        "localhost.example.com",
        "::1",
        "10.0.0.1:80",
    ],
)
def test_everything_else_gets_https(domain):
    assert not is_loopback(domain)
    assert management_endpoint(domain, "prod", {}) == f"https://{domain}/prod"


def test_the_configured_endpoint_wins():
    environ = {ENDPOINT_ENV: "http://127.0.0.1:4510/stage/"}
    assert management_endpoint("abc.execute-api.amazonaws.com", "x", environ) == (
        "http://127.0.0.1:4510/stage"
    )


def test_an_empty_configured_endpoint_is_ignored():
    assert management_endpoint("localhost:1", "s", {ENDPOINT_ENV: ""}) == "http://localhost:1/s"
