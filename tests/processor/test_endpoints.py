from __future__ import annotations

import pytest

from processor.endpoints import ENDPOINT_ENV, is_loopback, management_domain, management_endpoint


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


AWS_CONTEXT = {"domainName": "live.example.com", "apiId": "abc123", "stage": "prod"}


def test_on_aws_the_apis_own_host_is_used_whatever_the_custom_domain():
    environ = {"AWS_REGION": "eu-west-1"}
    domain = management_domain(AWS_CONTEXT, environ)
    assert domain == "abc123.execute-api.eu-west-1.amazonaws.com"
    assert management_endpoint(domain, "prod", environ) == (
        "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    )


def test_china_regions_have_their_own_suffix():
    assert management_domain(AWS_CONTEXT, {"AWS_REGION": "cn-north-1"}) == (
        "abc123.execute-api.cn-north-1.amazonaws.com.cn"
    )


@pytest.mark.parametrize(
    ("context", "environ"),
    [
        ({**AWS_CONTEXT, "domainName": "127.0.0.1:3001"}, {"AWS_REGION": "us-east-1"}),
        (AWS_CONTEXT, {"AWS_REGION": "us-east-1", ENDPOINT_ENV: "http://10.0.0.2:3001/x"}),
        (AWS_CONTEXT, {}),  # no region known
        ({"domainName": "live.example.com"}, {"AWS_REGION": "us-east-1"}),  # no apiId
    ],
)
def test_local_gateways_and_unknowns_keep_the_events_domain(context, environ):
    assert management_domain(context, environ) == context["domainName"]
