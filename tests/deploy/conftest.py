"""`serverless package --stage prod`, once per session, the way CI runs it: the pinned
Framework, no credentials, no AWS variable, a fresh HOME, into a temporary service directory
that holds serverless.yml and the artifact the session built (never the repository's own
.serverless/ or dist/)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.artifact_build import SERVERLESS_YML, built_artifact
from tumble.deploy import Framework, FrameworkError

STAGE = "prod"
REGION = "eu-west-1"


def offline_environment(home: Path) -> dict[str, str]:
    """PATH and HOME only: no AWS_* at all, and the SDK told not to look for instance
    credentials, so any call to AWS while packaging would fail."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true"}


def service_copy(root: Path, artifact: Path) -> Path:
    shutil.copy(SERVERLESS_YML, root / "serverless.yml")
    (root / "dist").mkdir()
    shutil.copy(artifact, root / "dist" / "tumble-lambda.zip")
    return root


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory `serverless package` wrote: both CloudFormation templates and the state."""
    service = service_copy(tmp_path_factory.mktemp("service"), built_artifact(tmp_path_factory))
    framework = Framework(service)
    try:
        framework.check(offline_environment(service))
    except FrameworkError as error:
        pytest.skip(f"serverless: {error}")
    output = service / ".serverless"
    framework.package(STAGE, REGION, output, offline_environment(tmp_path_factory.mktemp("home")))
    return output


@pytest.fixture(scope="session")
def template(packaged: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (packaged / "cloudformation-template-update-stack.json").read_text()
    )
    return document
