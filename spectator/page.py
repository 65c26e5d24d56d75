"""`python -m spectator.page`: serves the built race page and, at /config.json, the gateway URL
with a fresh viewer token (the page fetches it on every connect, so tokens never go stale in a
long-open tab) and where the players' pictures come from: `imageBase` is `/uploads/` when the
upload bucket is known (spectator.uploads relays it from a local backend, or redirects to
pre-signed URLs on AWS, where the bucket blocks public access); null only when no bucket is
configured."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from messages.local import LOCAL_WS_URL, LOOPBACK, PAGE_PORT

from .auth import SecretMissing, resolve_secret, viewer_token
from .uploads import IMAGE_BASE, UploadSource, add_upload_routes, upload_source

__all__ = ["DEFAULT_DIST", "main", "make_app"]

DEFAULT_DIST = Path(__file__).resolve().parent / "web" / "dist"
NO_STORE = {"Cache-Control": "no-store"}


def make_app(
    ws_url: str,
    dist: Path,
    secret: Callable[[], bytes],
    uploads: UploadSource | None = None,
) -> web.Application:
    """`secret` is resolved per request, so the page server can start before the stack has
    stored its secret and a missing one is a clear 503, not a crash. With `uploads`, the
    upload bucket is relayed at /uploads/ and the page told to look there."""
    image_base = IMAGE_BASE if uploads is not None else None

    async def config(_: web.Request) -> web.Response:
        try:
            token = viewer_token(await asyncio.to_thread(secret), subject="race-page")
        except SecretMissing as exc:
            return web.json_response({"error": str(exc)}, status=503, headers=NO_STORE)
        body = {"wsUrl": ws_url, "token": token, "imageBase": image_base}
        return web.json_response(body, headers=NO_STORE)

    async def index(_: web.Request) -> web.StreamResponse:
        page = dist / "index.html"
        if not page.is_file():
            return web.Response(
                status=503,
                text=f"The race page is not built ({dist} is missing): run `make web`.\n",
            )
        return web.FileResponse(page, headers=NO_STORE)

    app = web.Application()
    app.router.add_get("/config.json", config)
    app.router.add_get("/", index)
    if uploads is not None:
        add_upload_routes(app, uploads)
    if dist.is_dir():
        app.router.add_static("/", dist, follow_symlinks=False)
    return app


def _cached(resolve: Callable[[], bytes]) -> Callable[[], bytes]:
    """Resolve the secret once it exists; until then, ask again on each request."""
    found: list[bytes] = []

    def get() -> bytes:
        if not found:
            found.append(resolve())
        return found[0]

    return get


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spectator.page", description=__doc__)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=PAGE_PORT)
    parser.add_argument("--ws-url", default=LOCAL_WS_URL)
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST, help="the built page")
    args = parser.parse_args(argv)
    if not (args.dist / "index.html").is_file():
        print(f"spectator.page: {args.dist} has no index.html; run `make web`", file=sys.stderr)
    uploads = upload_source()
    if uploads is None or not uploads.bucket:
        print("spectator.page: UPLOAD_BUCKET is not set; no pictures will show", file=sys.stderr)
    app = make_app(args.ws_url, args.dist, _cached(resolve_secret), uploads)
    print(f"race page: http://{args.host}:{args.port}/ (gateway {args.ws_url})", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
