"""`serverless deploy` rehearsed on the embedded backend: the Framework's own steps with the
templates it packaged (create the stack from the create template, which holds only its
deployment bucket; upload the artifact where the update template's functions look for it;
update the stack with the update template), through moto's CloudFormation. moto creates what
it supports (IAM role, Lambda functions and versions, the event source mapping, Kinesis,
DynamoDB, S3, SQS, log groups) and skips the API Gateway V2 resources, whose Ref is None."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


@dataclass
class Rehearsal:
    """A `Shipper` for tumble.deploy.cli.Deployer that deploys to the embedded backend."""

    packaged: Path
    artifact: Path
    client: Callable[[str], Any]
    stack_name: str
    calls: list[list[str]] = field(default_factory=list)

    def check(self, environ: Mapping[str, str]) -> str:
        return "rehearsal on the embedded backend"

    def template(self, kind: str) -> dict[str, Any]:
        path = self.packaged / f"cloudformation-template-{kind}-stack.json"
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded

    def run(self, arguments: list[str], environ: Mapping[str, str]) -> None:
        self.calls.append(list(arguments))
        if arguments[0] != "deploy":
            return
        cfn = self.client("cloudformation")
        cfn.create_stack(
            StackName=self.stack_name,
            TemplateBody=json.dumps(self.template("create")),
            Capabilities=CAPABILITIES,
        )
        (stack,) = cfn.describe_stacks(StackName=self.stack_name)["Stacks"]
        bucket = next(
            o["OutputValue"]
            for o in stack["Outputs"]
            if o["OutputKey"] == "ServerlessDeploymentBucketName"
        )
        update = self.template("update")
        keys = {
            r["Properties"]["Code"]["S3Key"]
            for r in update["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function"
        }
        for key in keys:
            self.client("s3").upload_file(str(self.artifact), bucket, key)
        cfn.update_stack(
            StackName=self.stack_name, TemplateBody=json.dumps(update), Capabilities=CAPABILITIES
        )
