"""`GET /uploads/{bucket}/{key}`: the pictures of the upload bucket, for its own bucket only
(never an open proxy), two ways:
- locally the bucket lives on the stack's AWS backend, which a browser should not be pointed
  at: the page server relays the object from it;
- on AWS the bucket blocks public access (rightly), so a plain S3 URL is a 403: the page
  server answers with a redirect to a pre-signed GET URL, signed with its own credentials."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError as HttpClientError
from aiohttp import web
from botocore.exceptions import BotoCoreError, ClientError

__all__ = [
    "IMAGE_BASE",
    "MAX_KEY_BYTES",
    "PRESIGNED_URL_TTL_S",
    "UploadSource",
    "add_upload_routes",
    "local_upload_source",
    "signed_upload_source",
    "upload_source",
]

IMAGE_BASE = "/uploads/"
# "The name for a key is a sequence of Unicode characters whose UTF-8 encoding is at most 1,024
# bytes long" (Amazon S3 User Guide, Naming Amazon S3 objects).
MAX_KEY_BYTES = 1024
CHUNK_BYTES = 64 * 1024
# SigV4 pre-signed URLs may live up to 7 days (Amazon S3 User Guide, "Sharing objects with
# presigned URLs"); the browser follows the redirect at once, so minutes are plenty.
PRESIGNED_URL_TTL_S = 300
# The S3 error codes that mean "no such object" (GetObject answers NoSuchKey; a 404 without a
# body, e.g. to HEAD, surfaces as the bare status code).
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# What was stored need not be an image: never let the browser run it on the page's origin.
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "no-cache",
}

S3ClientFactory = Callable[[], AbstractAsyncContextManager[Any]]
_CLIENT = web.AppKey("upload_s3_client", object)


@dataclass(frozen=True)
class UploadSource:
    """The one bucket relayed, and how to open an aiobotocore S3 client for it (opened once,
    when the app starts, and closed with it)."""

    bucket: str
    client_factory: S3ClientFactory
    endpoint: str = ""
    presign: bool = False  # redirect to a pre-signed URL instead of relaying the bytes


def _s3_client(endpoint: str | None, region: str) -> AbstractAsyncContextManager[Any]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(
        connect_timeout=2,
        read_timeout=10,
        retries={"max_attempts": 2},
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint else "virtual"},
    )
    return get_session().create_client(
        "s3", endpoint_url=endpoint, region_name=region, config=config
    )


def _region(environ: Mapping[str, str]) -> str:
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def upload_source(environ: Mapping[str, str] = os.environ) -> UploadSource | None:
    """The relay on a local stack, pre-signed redirects against AWS, None without a bucket."""
    return local_upload_source(environ) or signed_upload_source(environ)


def signed_upload_source(environ: Mapping[str, str] = os.environ) -> UploadSource | None:
    """Pre-signed redirects for UPLOAD_BUCKET on AWS (the page server needs s3:GetObject)."""
    bucket = environ.get("UPLOAD_BUCKET", "")
    if not bucket:
        return None
    region = _region(environ)
    return UploadSource(bucket, lambda: _s3_client(None, region), presign=True)


def local_upload_source(environ: Mapping[str, str] = os.environ) -> UploadSource | None:
    """The relay for a local stack: only when AWS_ENDPOINT_URL points at a local backend
    (against AWS, signed_upload_source)."""
    endpoint = environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint:
        return None
    region = _region(environ)
    return UploadSource(
        environ.get("UPLOAD_BUCKET", ""), lambda: _s3_client(endpoint, region), endpoint
    )


def _problem(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", headers={"Cache-Control": "no-store"})


def add_upload_routes(app: web.Application, source: UploadSource) -> None:
    async def client_context(app: web.Application) -> AsyncIterator[None]:
        async with source.client_factory() as client:
            app[_CLIENT] = client
            yield

    async def upload(request: web.Request) -> web.StreamResponse:
        bucket, key = request.match_info["bucket"], request.match_info["key"]
        if not source.bucket or bucket != source.bucket:
            return _problem(404, f"no bucket {bucket!r} here")
        if len(key.encode()) > MAX_KEY_BYTES:
            return _problem(404, "no such object (key longer than S3 allows)")
        client: Any = request.app[_CLIENT]
        where = f"s3://{bucket}/{key}"
        if source.presign:
            url = await client.generate_presigned_url(
                "get_object",
                Params={"Bucket": bucket, "Key": key},
                ExpiresIn=PRESIGNED_URL_TTL_S,
            )
            return web.Response(status=302, headers={"Location": url, "Cache-Control": "no-store"})
        try:
            obj = await client.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in MISSING_CODES:
                return _problem(404, f"no such object: {where}")
            return _problem(502, f"the S3 backend refused {where}: {code or exc}")
        except (BotoCoreError, HttpClientError, OSError) as exc:
            return _problem(502, f"the S3 backend at {source.endpoint} failed for {where}: {exc}")
        response = web.StreamResponse(headers=SAFE_HEADERS)
        response.headers["Content-Type"] = obj.get("ContentType") or "application/octet-stream"
        if "ContentLength" in obj:
            response.content_length = int(obj["ContentLength"])
        if "ETag" in obj:
            response.headers["ETag"] = obj["ETag"]
        async with obj["Body"] as body:
            await response.prepare(request)
            async for chunk in body.iter_chunks(CHUNK_BYTES):
                await response.write(chunk)
        await response.write_eof()
        return response

    app.cleanup_ctx.append(client_context)
    app.router.add_get(IMAGE_BASE + "{bucket}/{key:.+}", upload)
