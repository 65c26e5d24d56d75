"""`tumble token`: print a signed connection token for the local stack or a deployment.

The token rules live in `messages.tokens`; this is only the command around them."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from messages.tokens import (
    LOCAL_AWS_ENDPOINT,
    LOCAL_SECRET_PARAMETER,
    PARAMETER_ENV,
    SECRET_ENV,
    Role,
    SecretMissing,
    issue,
    parse_ttl,
    resolve_secret,
)

__all__ = ["main"]


def _local_ssm_reader() -> Callable[[str], str]:
    """Reads a parameter from the standard AWS settings, else the local stack's endpoint."""
    import boto3  # only the CLI needs it here; the Lambda path stays light
    from botocore.config import Config

    client = boto3.client(
        "ssm",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or LOCAL_AWS_ENDPOINT,
        region_name=os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or "test",
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or "test",
        # No local stack running should say so at once, not after botocore's retries.
        config=Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1}),
    )

    def read(name: str) -> str:
        response = client.get_parameter(Name=name, WithDecryption=True)
        return str(response["Parameter"]["Value"])

    return read


def main(argv: list[str]) -> int:
    """`tumble token --role shipper --ttl 1h [--subject NAME] [--secret S]`."""
    parser = argparse.ArgumentParser(prog="tumble token", description=main.__doc__)
    parser.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    parser.add_argument("--ttl", default="1h", help="lifetime: 90, 30s, 15m, 1h, 2d")
    parser.add_argument("--subject", default=None, help="who holds it (default: the role)")
    parser.add_argument(
        "--secret",
        default=None,
        help=f"HMAC secret (default: ${SECRET_ENV}, else the SSM parameter named by "
        f"${PARAMETER_ENV}, else the local stack's {LOCAL_SECRET_PARAMETER})",
    )
    args = parser.parse_args(argv)
    try:
        ttl = parse_ttl(args.ttl)
    except ValueError as exc:
        parser.error(str(exc))
    if args.secret:
        secret = args.secret.encode()
    else:
        try:
            secret = resolve_secret(os.environ, _local_ssm_reader(), LOCAL_SECRET_PARAMETER)
        except SecretMissing as exc:
            print(f"tumble token: no secret: pass --secret; {exc}", file=sys.stderr)
            return 2
    subject = args.subject or args.role
    print(issue(secret, args.role, subject, int(time.time()) + ttl))
    return 0
