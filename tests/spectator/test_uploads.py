"""The page server relays the upload bucket from the embedded AWS backend at /uploads/."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway_adapter.embedded import free_port
from gateway_adapter.service import Service
from spectator.page import make_app
from spectator.uploads import MAX_KEY_BYTES, UploadSource, local_upload_source

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
