"""The page server relays the upload bucket from the embedded AWS backend at /uploads/."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway_adapter.embedded.backend import free_port
from serverless_model.service import Service
from spectator.page import make_app
from spectator.uploads import (
    MAX_KEY_BYTES,
    PRESIGNED_URL_TTL_S,
    UploadSource,
    local_upload_source,
    signed_upload_source,
    upload_source,
)

from .conftest import ServerThread
from .pictures import tiny_png
from .stack import http_get, upload_bucket

WS_URL = "ws://127.0.0.1:3001/local"


def _source(bucket: str, endpoint: str) -> UploadSource:
    source = local_upload_source({"AWS_ENDPOINT_URL": endpoint, "UPLOAD_BUCKET": bucket})
    assert source is not None
    return source


@pytest.fixture
def relay(
    serve: Callable[[web.Application], ServerThread],
    tumble_service: Service,
    aws_endpoint: str,
    tmp_path: Path,
) -> tuple[str, str]:
    """The page server relaying the test stage's upload bucket; returns (base URL, bucket)."""
    bucket = upload_bucket(tumble_service)
    server = serve(make_app(WS_URL, tmp_path, lambda: b"k", _source(bucket, aws_endpoint)))
    return server.url, bucket


def test_an_uploaded_png_comes_back_through_the_page_server(
    relay: tuple[str, str], aws_client: Callable[[str], Any]
) -> None:
    url, bucket = relay
    png = tiny_png()
    key = "photo-uploads/ada smile+1.png"
    aws_client("s3").put_object(Bucket=bucket, Key=key, Body=png, ContentType="image/png")
    status, headers, body = http_get(f"{url}/uploads/{bucket}/{urllib.parse.quote(key)}")
    assert status == 200
    assert body == png
    assert headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    # The page's own URL form encodes the whole key, slashes included.
    encoded = urllib.parse.quote(key, safe="")
    assert http_get(f"{url}/uploads/{bucket}/{encoded}")[2] == png


def test_missing_objects_and_other_buckets_are_404(
    relay: tuple[str, str], aws_client: Callable[[str], Any]
) -> None:
    url, bucket = relay
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="someone-elses-bucket")
    s3.put_object(Bucket="someone-elses-bucket", Key="secret.png", Body=b"private")
    assert http_get(f"{url}/uploads/someone-elses-bucket/secret.png")[0] == 404
    status, _, body = http_get(f"{url}/uploads/{bucket}/nothing-here.png")
    assert status == 404
    assert b"no such object" in body
    assert http_get(f"{url}/uploads/{bucket}/")[0] == 404
    assert http_get(f"{url}/uploads/{bucket}/{'k' * (MAX_KEY_BYTES + 1)}")[0] == 404


def test_a_failing_backend_is_a_502_that_says_so(
    serve: Callable[[web.Application], ServerThread], fresh_aws: str, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port('127.0.0.1')}"  # nothing listens here
    server = serve(make_app(WS_URL, tmp_path, lambda: b"k", _source("uploads", dead)))
    status, _, body = http_get(f"{server.url}/uploads/uploads/photo.png")
    assert status == 502
    assert b"S3 backend" in body and dead.encode() in body
    # A backend without the bucket is set up wrong: not the browser's 404.
    unset = serve(make_app(WS_URL, tmp_path, lambda: b"k", _source("never-made", fresh_aws)))
    status, _, body = http_get(f"{unset.url}/uploads/never-made/photo.png")
    assert status == 502
    assert b"NoSuchBucket" in body


def test_config_points_the_page_at_the_relay_only_when_there_is_one(
    serve: Callable[[web.Application], ServerThread], tmp_path: Path
) -> None:
    assert local_upload_source({}) is None
    relayed = serve(make_app(WS_URL, tmp_path, lambda: b"k", _source("b", "http://127.0.0.1:1")))
    public = serve(make_app(WS_URL, tmp_path, lambda: b"k"))
    assert json.loads(http_get(f"{relayed.url}/config.json")[2])["imageBase"] == "/uploads/"
    assert json.loads(http_get(f"{public.url}/config.json")[2])["imageBase"] is None
    assert http_get(f"{public.url}/uploads/b/photo.png")[0] == 404


def _no_redirect_get(url: str) -> tuple[int, dict[str, str]]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}" if parts.query else parts.path)
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


def _signed(bucket: str, endpoint: str) -> UploadSource:
    """signed_upload_source's answer, its client pointed at the embedded backend's S3."""
    source = signed_upload_source({"UPLOAD_BUCKET": bucket, "AWS_REGION": "us-east-1"})
    assert source is not None and source.presign and source.bucket == bucket
    local = _source(bucket, endpoint)  # the same client settings, on this endpoint
    return UploadSource(bucket, local.client_factory, endpoint, presign=True)


def test_on_aws_pictures_redirect_to_a_presigned_url_that_serves_them(
    serve: Callable[[web.Application], ServerThread],
    tumble_service: Service,
    aws_endpoint: str,
    aws_client: Callable[[str], Any],
    tmp_path: Path,
) -> None:
    bucket = upload_bucket(tumble_service)
    png = tiny_png()
    key = "photo-uploads/ada smile+1.png"
    aws_client("s3").put_object(Bucket=bucket, Key=key, Body=png, ContentType="image/png")
    server = serve(make_app(WS_URL, tmp_path, lambda: b"k", _signed(bucket, aws_endpoint)))
    assert json.loads(http_get(f"{server.url}/config.json")[2])["imageBase"] == "/uploads/"

    status, headers = _no_redirect_get(f"{server.url}/uploads/{bucket}/{urllib.parse.quote(key)}")
    assert status == 302 and headers["Cache-Control"] == "no-store"
    location = headers["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == [str(PRESIGNED_URL_TTL_S)]
    assert http_get(location)[2] == png  # the URL itself gets the object, no credentials
    # Only its own bucket is signed for, as for the relay.
    assert _no_redirect_get(f"{server.url}/uploads/other-bucket/x.png")[0] == 404


def test_the_page_picks_the_relay_locally_and_signing_on_aws():
    local = upload_source({"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "UPLOAD_BUCKET": "b"})
    assert local is not None and not local.presign
    signed = upload_source({"UPLOAD_BUCKET": "b"})
    assert signed is not None and signed.presign
    assert upload_source({}) is None
