"""`tumble token`: print a signed connection token for the local stack or a deployment.

The token rules live in `messages.tokens`; this is only the command around them, with the
local defaults of `tumble.settings` (the local stack's endpoint and parameter when nothing else
is configured)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from messages.tokens import PARAMETER_ENV, SECRET_ENV, Role, SecretMissing, issue, parse_ttl
from messages.tokens import resolve_secret as resolve

from .settings import LOCAL_SECRET_PARAMETER, local_environment, session

__all__ = ["main"]


def _ssm(environ: dict[str, str]) -> Any:
    from botocore.config import Config

    # No local stack running should say so at once, not after botocore's retries.
    config = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1})
    return session(environ).client(
        "ssm", endpoint_url=environ.get("AWS_ENDPOINT_URL"), config=config
    )


def main(argv: list[str]) -> int:
    """`tumble token --role shipper --ttl 1h [--subject NAME] [--secret S | --parameter P]`."""
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
    parser.add_argument(
        "--parameter",
        default=None,
        help=f"the SSM parameter holding the secret (a deployed stage's: `tumble deploy` "
        f"prints it); sets ${PARAMETER_ENV}",
    )
    parser.add_argument("--region", default=None, help="the parameter's region (sets AWS_REGION)")
    args = parser.parse_args(argv)
    try:
        ttl = parse_ttl(args.ttl)
    except ValueError as exc:
        parser.error(str(exc))
    if args.secret:
        secret = args.secret.encode()
    else:
        given = dict(os.environ)
        if args.parameter:
            given[PARAMETER_ENV] = args.parameter
            given.pop(SECRET_ENV, None)  # the parameter named on the command line decides
        if args.region:
            given["AWS_REGION"] = given["AWS_DEFAULT_REGION"] = args.region
        environ = local_environment(given)
        try:
            secret = resolve(environ, lambda: _ssm(environ))
        except SecretMissing as exc:
            print(f"tumble token: no secret: pass --secret; {exc}", file=sys.stderr)
            return 2
    subject = args.subject or args.role
    print(issue(secret, args.role, subject, int(time.time()) + ttl))
    return 0
