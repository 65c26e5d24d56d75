"""`tumble package`: the Lambda artifact that `serverless deploy` ships and the local gateway
can run (its `--from-artifact` mode), so what runs locally is what deploys."""

from __future__ import annotations

from .artifact import (
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    ArtifactReport,
    PackageSpec,
    build_artifact,
    check_size,
    read_spec,
)
from .requirements import LambdaPlatform, PackagingError, check_consistent, read_pins

__all__ = [
    "MAX_UNZIPPED_BYTES",
    "MAX_ZIPPED_BYTES",
    "ArtifactReport",
    "LambdaPlatform",
    "PackageSpec",
    "PackagingError",
    "build_artifact",
    "check_consistent",
    "check_size",
    "read_pins",
    "read_spec",
]
