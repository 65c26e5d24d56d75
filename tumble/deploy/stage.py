"""What a deployed stage is called and how to reach it, from serverless.yml and the stack's
outputs: pure, so the printed command lines are tested as they are printed."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from messages.local import LOOPBACK, PAGE_PORT
from messages.tokens import PARAMETER_ENV
from serverless_model.config import Options
from serverless_model.service import Service, load_service

__all__ = ["WEBSOCKET_OUTPUT", "DeployedStage", "Stage", "read_stage", "stack_output"]

# The output the Framework adds for a service with websocket events (its
# lib/plugins/aws/package/compile/events/websockets), `wss://{apiId}.execute-api...`.
WEBSOCKET_OUTPUT = "ServiceEndpointWebsocket"


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of the service as serverless.yml names its parts."""

    name: str
    region: str
    stack_name: str
    secret_parameter: str
    stream: str
    upload_bucket: str


def _shared(service: Service, variable: str) -> str:
    values = {
        f.environment[variable] for f in service.functions.values() if variable in f.environment
    }
    if len(values) != 1:
        raise ValueError(f"{service.path}: the functions do not agree on one {variable}")
    return values.pop()


def read_stage(config: Path, stage: str, region: str, account_id: str) -> Stage:
    service = load_service(config, Options(stage=stage, region=region, account_id=account_id))
    provider = service.document.get("provider") or {}
    stack = provider.get("stackName") if isinstance(provider, Mapping) else None
    return Stage(
        name=stage,
        region=region,
        stack_name=str(stack or f"{service.name}-{stage}"),  # the Framework's default
        secret_parameter=_shared(service, PARAMETER_ENV),
        stream=_shared(service, "STREAM_NAME"),
        upload_bucket=_shared(service, "UPLOAD_BUCKET"),
    )


@dataclass(frozen=True, slots=True)
class DeployedStage:
    stage: Stage
    websocket_url: str

    def token_command(self, role: str) -> str:
        stage = self.stage
        return (
            f"tumble token --role {role} --region {shlex.quote(stage.region)} "
            f"--parameter {shlex.quote(stage.secret_parameter)}"
        )

    def next_steps(self) -> list[str]:
        """The lines `tumble deploy` ends with: each works against the deployed stage with
        the same credentials (tokens are signed with the stage's SSM secret)."""
        url = shlex.quote(self.websocket_url)
        stream = shlex.quote(self.stage.stream)
        return [
            f"WebSocket API: {self.websocket_url}",
            "a viewer token (1 h):",
            f"  {self.token_command('viewer')}",
            "watch the stage:",
            f'  tumble watch --url {url} --token "$({self.token_command("viewer")})"',
            "ship simulated presses to it (both paths):",
            f"  AWS_REGION={shlex.quote(self.stage.region)} tumble produce --simulate 4 "
            f"--ws-url {url} --stream {stream} "
            f'--token "$({self.token_command("shipper")})"',
            "the race page for it (pictures by pre-signed URL; "
            f"open http://{LOOPBACK}:{PAGE_PORT}):",
            f"  AWS_REGION={shlex.quote(self.stage.region)} "
            f"TUMBLE_TOKEN_SECRET_PARAMETER={shlex.quote(self.stage.secret_parameter)} "
            f"UPLOAD_BUCKET={shlex.quote(self.stage.upload_bucket)} "
            f"python -m spectator.page --ws-url {url}",
        ]


def stack_output(stacks: Sequence[Mapping[str, Any]], key: str) -> str | None:
    """An output's value from a DescribeStacks answer."""
    for stack in stacks:
        for output in stack.get("Outputs") or []:
            if output.get("OutputKey") == key:
                return str(output.get("OutputValue"))
    return None
