"""`tumble deploy` / `tumble remove`: the prerequisites checked first, each with a clear
message, then the pinned Serverless Framework ships the artifact `tumble package` built."""

from __future__ import annotations

from .checks import Prerequisite, PrerequisiteError, check_credentials, check_secret
from .framework import Framework, FrameworkError, framework_environment

__all__ = [
    "Framework",
    "FrameworkError",
    "Prerequisite",
    "PrerequisiteError",
    "check_credentials",
    "check_secret",
    "framework_environment",
]
