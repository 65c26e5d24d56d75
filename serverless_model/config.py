"""Reading serverless.yml: YAML with CloudFormation's short tags, and the Serverless Framework's
variables (`${opt:}`, `${self:}`, `${sls:}`, `${param:}`, `${env:}`, `${aws:}`) resolved the way
`serverless deploy` would resolve them, so local and cloud read one file identically."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

__all__ = ["DEFAULT_ACCOUNT_ID", "ConfigError", "Options", "load_document", "resolve"]

# moto's and LocalStack's default account.
DEFAULT_ACCOUNT_ID = "000000000000"

_VARIABLE = re.compile(r"\$\{([^${}]+)\}")
_SOURCE = re.compile(r"^\s*(opt|self|sls|param|env|aws):\s*([^,]*?)\s*(?:,\s*(.+?))?\s*$", re.S)
_MAX_PASSES = 20


class ConfigError(ValueError):
    """A problem in serverless.yml, naming the file, the key and what is wrong."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key or '(top level)'}: {problem}")
        self.path = Path(path)
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Options:
    """What `serverless --stage X --region Y --param k=v` would pass."""

    stage: str | None = None
    region: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    account_id: str = DEFAULT_ACCOUNT_ID
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref X` and friends into their long `{"Ref": X}` forms."""


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(cast(yaml.MappingNode, node), deep=True)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _short_tag)


def load_document(path: Path | str) -> dict[str, Any]:
    """The raw YAML document, or a ConfigError that says where it broke."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(path, "", f"cannot be read: {exc.strerror}") from exc
    try:
        document = yaml.load(text, Loader=_CloudFormationLoader)  # noqa: S506 - safe subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, where, f"invalid YAML: {problem}") from exc
    if not isinstance(document, dict):
        raise ConfigError(path, "", "must be a YAML mapping")
    return document


def resolve(document: dict[str, Any], options: Options, path: Path | str) -> dict[str, Any]:
    """A copy of `document` with every variable replaced by its value."""
    resolver = _Resolver(document, options, Path(path))
    resolved: dict[str, Any] = resolver.walk(document, "")
    return resolved


class _Resolver:
    def __init__(self, document: dict[str, Any], options: Options, path: Path) -> None:
        self.document = document
        self.options = options
        self.path = path
        self.resolving: set[str] = set()

    def walk(self, node: Any, key: str) -> Any:
        if isinstance(node, dict):
            return {k: self.walk(v, f"{key}.{k}" if key else str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self.walk(v, f"{key}[{i}]") for i, v in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            return self.string(node, key)
        return node

    def string(self, text: str, key: str) -> Any:
        for _ in range(_MAX_PASSES):
            whole = _VARIABLE.fullmatch(text)
            if whole:  # a lone variable keeps its value's type (ShardCount: ${param:n} -> 2)
                value = self.variable(whole.group(1), key)
                if not isinstance(value, str) or "${" not in value:
                    return value
                text = value
                continue
            replaced = _VARIABLE.sub(lambda m: str(self.variable(m.group(1), key)), text)
            if replaced == text:
                break
            text = replaced
        if "${" in text:
            raise ConfigError(self.path, key, f"cannot resolve {text!r}")
        return text

    def variable(self, expression: str, key: str) -> Any:
        match = _SOURCE.match(expression)
        if not match:
            raise ConfigError(
                self.path,
                key,
                f"unsupported variable ${{{expression}}}; the local stack resolves opt, self, "
                "sls, param, env and aws",
            )
        source, name, fallback = match.groups()
        value = self.lookup(source, name, key)
        if value is None and fallback is not None:
            return self.fallback(fallback, key)
        if value is None:
            raise ConfigError(self.path, key, f"${{{expression}}} has no value and no default")
        return value

    def fallback(self, text: str, key: str) -> Any:
        text = text.strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            return text[1:-1]
        if _SOURCE.match(text):
            return self.variable(text, key)
        try:
            return int(text)
        except ValueError:
            return text

    def lookup(self, source: str, name: str, key: str) -> Any:
        opts = self.options
        if source == "opt":
            return {"stage": opts.stage, "region": opts.region}.get(name) or opts.params.get(name)
        if source == "env":
            return opts.env.get(name)
        if source == "sls" and name == "stage":
            return self.stage(key)
        if source == "aws":
            return {"accountId": opts.account_id, "region": self.region(key)}.get(name)
        if source == "param":
            if name in opts.params:
                return opts.params[name]
            params = self.document.get("params") or {}
            for scope in (self.stage(key), "default"):
                scoped = params.get(scope) or {}
                if name in scoped:
                    return self.walk(scoped[name], f"params.{scope}.{name}")
            return None
        if source == "self":
            return self.self_reference(name, key)
        return None

    def self_reference(self, dotted: str, key: str) -> Any:
        if dotted in self.resolving:
            raise ConfigError(self.path, key, f"${{self:{dotted}}} refers to itself")
        node: Any = self.document
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        self.resolving.add(dotted)
        try:
            return self.walk(node, dotted)
        finally:
            self.resolving.discard(dotted)

    def stage(self, key: str) -> str:
        provider = self.document.get("provider") or {}
        return str(self.options.stage or self._provider_value(provider, "stage", key) or "dev")

    def region(self, key: str) -> str:
        provider = self.document.get("provider") or {}
        return str(
            self.options.region or self._provider_value(provider, "region", key) or "us-east-1"
        )

    def _provider_value(self, provider: dict[str, Any], name: str, key: str) -> Any:
        raw = provider.get(name)
        if isinstance(raw, str) and "${" in raw:
            return self.string(raw, f"provider.{name}")
        return raw
