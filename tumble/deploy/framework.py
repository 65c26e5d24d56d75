"""The pinned Serverless Framework v3 in deploy/ (npm ci by the Makefile), run offline where
it can be: no telemetry, no notifications, no dashboard set-up prompts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_INSTALL",
    "MIN_NODE_MAJOR",
    "QUIET",
    "Framework",
    "FrameworkError",
    "framework_environment",
]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTALL = ROOT / "deploy"
# serverless@3.40.0's package.json says node >= 12, but its AWS SDK v3 clients need 18.
MIN_NODE_MAJOR = 18
# The variables Framework v3 reads to stay silent: telemetry (both its names), the update and
# deprecation notices fetched from its servers, and the interactive dashboard onboarding.
QUIET = {
    "SLS_TELEMETRY_DISABLED": "1",
    "SLS_TRACKING_DISABLED": "1",
    "SLS_NOTIFICATIONS_MODE": "off",
    "SLS_DISABLE_AUTO_UPDATE": "1",
    "SLS_INTERACTIVE_SETUP_ENABLE": "0",
}


class FrameworkError(RuntimeError):
    """The Framework is missing or failed; the message says what to do."""


def framework_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with the Framework silenced; credentials and region pass through."""
    return {**environ, **QUIET}


def _node_major(version_output: str) -> int | None:
    match = re.match(r"v?(\d+)\.", version_output.strip())
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class Framework:
    """`serverless` from `install` (deploy/), run in `service_dir` on its `config` file."""

    service_dir: Path
    install: Path = DEFAULT_INSTALL
    config: str = "serverless.yml"

    @property
    def entry(self) -> Path:
        return self.install / "node_modules" / "serverless" / "bin" / "serverless.js"

    def check(self, environ: Mapping[str, str] = os.environ) -> str:
        """Node and the pinned Framework are there; their versions, or FrameworkError."""
        node = shutil.which("node", path=environ.get("PATH"))
        if node is None:
            raise FrameworkError(
                f"node is not on PATH: install Node.js {MIN_NODE_MAJOR} or newer (20 is tested)"
            )
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False
        ).stdout
        major = _node_major(version)
        if major is None or major < MIN_NODE_MAJOR:
            raise FrameworkError(
                f"node {version.strip() or '(unknown version)'} is too old: the Serverless "
                f"Framework needs Node.js {MIN_NODE_MAJOR} or newer"
            )
        if not self.entry.is_file():
            raise FrameworkError(
                f"the pinned Serverless Framework is not installed ({self.entry} is missing): "
                f"run `make deploy` (it runs `npm ci` in {self.install}) or "
                f"`cd {self.install} && npm ci`"
            )
        return f"node {version.strip()}, serverless {self.version()}"

    def version(self) -> str:
        package = self.entry.parent.parent / "package.json"
        found = re.search(r'"version"\s*:\s*"([^"]+)"', package.read_text())
        return found.group(1) if found else "(unknown)"

    def command(self, *arguments: str) -> list[str]:
        node = shutil.which("node") or "node"
        named = [] if self.config == "serverless.yml" else ["--config", self.config]
        return [node, str(self.entry), *arguments, *named]

    def run(self, arguments: Sequence[str], environ: Mapping[str, str]) -> None:
        """The Framework with its output on this terminal; FrameworkError if it fails."""
        command = self.command(*arguments)
        result = subprocess.run(
            command, cwd=self.service_dir, env=framework_environment(environ), check=False
        )
        if result.returncode != 0:
            raise FrameworkError(
                f"`serverless {' '.join(arguments)}` failed with exit code {result.returncode}"
            )

    def package(self, stage: str, region: str, output: Path, environ: Mapping[str, str]) -> Path:
        """`serverless package` into `output`: the CloudFormation templates and state, no AWS
        call (serverless.yml resolves without credentials); returns the update template."""
        self.run(
            ["package", "--stage", stage, "--region", region, "--package", str(output)], environ
        )
        return output / "cloudformation-template-update-stack.json"
