"""The Lambda functions of serverless.yml and the plain objects they wire: the token check,
the connection store on DynamoDB and the fan-out through the @connections API.

Nothing here knows where it runs: endpoints come from the standard AWS configuration and
from the events themselves."""

from __future__ import annotations

__all__: list[str] = []
