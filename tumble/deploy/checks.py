"""What `tumble deploy` needs before it builds anything, each check with the fix in its
message: credentials (STS GetCallerIdentity), the stage's token secret as an SSM
SecureString, the Node tooling (framework.Framework.check). Clients are injected, so the same
checks run against the embedded backend in the tests."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

__all__ = [
    "Identity",
    "Prerequisite",
    "PrerequisiteError",
    "check_credentials",
    "check_secret",
    "put_secret_command",
]

SECURE_STRING = "SecureString"


class PrerequisiteError(RuntimeError):
    """A prerequisite is missing; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Prerequisite:
    """One line of the checklist `tumble deploy` prints."""

    name: str
    detail: str

    def __str__(self) -> str:
        return f"  ok  {self.name}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Identity:
    account: str
    arn: str


def check_credentials(sts: Any) -> Identity:
    """Who the credentials are, by STS GetCallerIdentity (needs no permission at all)."""
    try:
        answer = sts.get_caller_identity()
    except NoCredentialsError as error:
        raise PrerequisiteError(
            "no AWS credentials found: run `aws configure` (or `aws sso login`), or set "
            "AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ) from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise PrerequisiteError(
            f"the AWS credentials were refused by STS ({code}): {error}; check AWS_PROFILE "
            "or the keys, and that a session token has not expired"
        ) from error
    except BotoCoreError as error:
        raise PrerequisiteError(f"STS GetCallerIdentity failed: {error}") from error
    return Identity(str(answer["Account"]), str(answer["Arn"]))


def put_secret_command(name: str, region: str, overwrite: bool = False) -> str:
    """The exact command that stores a fresh random secret in the parameter."""
    value = "\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')\""
    command = f"aws ssm put-parameter --region {shlex.quote(region)} --name {shlex.quote(name)}"
    command += f" --type {SECURE_STRING} --value {value}"
    return command + (" --overwrite" if overwrite else "")


def check_secret(ssm: Any, name: str, region: str) -> str:
    """The parameter exists and is a SecureString (its value is never read here); its type and
    version, or PrerequisiteError with the command that creates it."""
    try:
        parameter = ssm.get_parameter(Name=name, WithDecryption=False)["Parameter"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ParameterNotFound":
            raise PrerequisiteError(
                f"the token secret {name} does not exist in {region}; create it with:\n"
                f"  {put_secret_command(name, region)}"
            ) from error
        raise PrerequisiteError(
            f"cannot read the SSM parameter {name} ({code}): {error}"
        ) from error
    except BotoCoreError as error:
        raise PrerequisiteError(f"SSM GetParameter {name} failed: {error}") from error
    kind = parameter.get("Type")
    if kind != SECURE_STRING:
        raise PrerequisiteError(
            f"the token secret {name} is a {kind}, not a {SECURE_STRING}: its value would be "
            f"stored in plain text. Replace it:\n"
            f"  aws ssm delete-parameter --region {shlex.quote(region)} --name {shlex.quote(name)}"
            f"\n  {put_secret_command(name, region)}"
        )
    return f"{name} ({SECURE_STRING}, version {parameter.get('Version')})"
