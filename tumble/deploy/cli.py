"""`tumble deploy --stage S --region R` and `tumble remove`: every prerequisite first, then the
artifact, then the Framework; the clients and the Framework are injected (Deployer), so the
whole path but the Framework's own call to AWS runs against the embedded backend in tests."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from serverless_model.config import ConfigError

from .checks import Prerequisite, PrerequisiteError, check_credentials, check_secret
from .framework import Framework, FrameworkError
from .stage import WEBSOCKET_OUTPUT, DeployedStage, Stage, read_stage, stack_output

__all__ = ["Deployer", "Shipper", "deploy_main", "remove_main"]

ClientFactory = Callable[[str], Any]


class Shipper(Protocol):
    """What ships a stage: the Framework (Framework), or a rehearsal in the tests."""

    def check(self, environ: Mapping[str, str]) -> str: ...

    def run(self, arguments: list[str], environ: Mapping[str, str]) -> None: ...


def _build_artifact(config: Path, stage: str) -> None:
    from tumble.packaging.cli import main as package_main

    if package_main(["--config", str(config), "--stage", stage]) != 0:
        raise FrameworkError("the artifact could not be built (tumble package, above)")


@dataclass
class Deployer:
    config: Path
    client: ClientFactory
    shipper: Shipper
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    build: Callable[[Path, str], None] = _build_artifact
    say: Callable[[str], None] = print

    def prerequisites(self, stage: str, region: str, *, secret: bool = True) -> Stage:
        """Credentials, then the stage's secret, then the tooling; the first missing one
        stops everything with its fix (PrerequisiteError, FrameworkError)."""
        identity = check_credentials(self.client("sts"))
        self.say(str(Prerequisite("credentials", f"account {identity.account} ({identity.arn})")))
        named = read_stage(self.config, stage, region, identity.account)
        if secret:
            found = check_secret(self.client("ssm"), named.secret_parameter, region)
            self.say(str(Prerequisite("token secret", found)))
        self.say(str(Prerequisite("tooling", self.shipper.check(self.environ))))
        return named

    def deploy(self, stage: str, region: str) -> DeployedStage:
        named = self.prerequisites(stage, region)
        self.build(self.config, stage)
        self.shipper.run(["deploy", "--stage", stage, "--region", region], self.environ)
        stacks = self.client("cloudformation").describe_stacks(StackName=named.stack_name)
        url = stack_output(stacks.get("Stacks", []), WEBSOCKET_OUTPUT)
        if url is None:
            raise FrameworkError(f"stack {named.stack_name} has no {WEBSOCKET_OUTPUT} output")
        deployed = DeployedStage(named, url)
        for line in deployed.next_steps():
            self.say(line)
        return deployed

    def remove(self, stage: str, region: str) -> Stage:
        named = self.prerequisites(stage, region, secret=False)
        self.shipper.run(["remove", "--stage", stage, "--region", region], self.environ)
        self.say(
            f"kept on purpose (DeletionPolicy Retain): the bucket {named.upload_bucket}; "
            f"delete it with: aws s3 rb s3://{named.upload_bucket} --force --region {region}"
        )
        self.say(
            f"kept: the token secret {named.secret_parameter}; delete it with: aws ssm "
            f"delete-parameter --region {region} --name {named.secret_parameter}"
        )
        return named


def _parse(prog: str, argv: list[str], what: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=what)
    parser.add_argument("--stage", default="dev")
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    parser.add_argument("--config", type=Path, default=Path("serverless.yml"))
    return parser.parse_args(argv)


def _run(prog: str, argv: list[str], action: str) -> int:
    args = _parse(prog, argv, __doc__ or "")
    if os.environ.get("AWS_ENDPOINT_URL"):
        print(
            f"{prog}: AWS_ENDPOINT_URL is set ({os.environ['AWS_ENDPOINT_URL']}): the checks "
            "would go there while the Framework goes to AWS; unset it to deploy",
            file=sys.stderr,
        )
        return 2
    import boto3

    session: Any = boto3.Session(region_name=args.region)  # clients named at run time
    environ = {**os.environ, "AWS_REGION": args.region, "AWS_DEFAULT_REGION": args.region}
    deployer = Deployer(
        config=args.config,
        client=session.client,
        shipper=Framework(args.config.resolve().parent, config=args.config.name),
        environ=environ,
    )
    try:
        if action == "deploy":
            deployer.deploy(args.stage, args.region)
        else:
            deployer.remove(args.stage, args.region)
    except (PrerequisiteError, FrameworkError, ConfigError, ValueError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"{prog}: AWS refused: {error}", file=sys.stderr)
        return 1
    return 0


def deploy_main(argv: list[str]) -> int:
    """`tumble deploy --stage S --region R`: checks, artifact, `serverless deploy`, URL."""
    return _run("tumble deploy", argv, "deploy")


def remove_main(argv: list[str]) -> int:
    """`tumble remove --stage S --region R`: `serverless remove`; says what is kept."""
    return _run("tumble remove", argv, "remove")
