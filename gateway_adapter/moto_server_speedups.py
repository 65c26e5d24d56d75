"""Per-request work moto's server repeats for nothing, cached for the embedded backend.

Profiled on a one-item DynamoDB Query (2.9 ms in-process): a fifth of it was
`moto.backends.list_of_moto_modules`, which lists and stats moto's package directory on every
request to tell a service name from a host, and a tenth `method_names_from_class`, which runs
`inspect.getmembers` over the response class on every request to find the action's method.
Neither answer can change while the server runs (moto's modules are on disk; the response
classes are fixed: the speed-ups replace methods, never add or remove one), so both are
computed once. Same answers, by construction and checked in
tests/gateway_adapter/test_moto_server_speedups.py.

Install it in the process that serves moto, before serving: `install()`."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from moto import backends
from moto.core import responses

__all__ = ["install", "installed", "uninstall"]

_ORIGINAL_MODULES = backends.list_of_moto_modules
_ORIGINAL_METHOD_NAMES = responses.method_names_from_class


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_ORIGINAL_MODULES())


def _list_of_moto_modules() -> Iterable[str]:
    return _moto_modules()


@functools.cache
def _method_names(clazz: type) -> frozenset[str]:
    # call_action only asks `action in method_names`: a frozenset answers that the same way.
    return frozenset(_ORIGINAL_METHOD_NAMES(clazz))


def _method_names_from_class(clazz: object) -> frozenset[str]:
    return _method_names(clazz if isinstance(clazz, type) else type(clazz))


def install() -> None:
    backends.list_of_moto_modules = _list_of_moto_modules
    responses.method_names_from_class = _method_names_from_class  # type: ignore[assignment]


def installed() -> bool:
    return (
        backends.list_of_moto_modules is _list_of_moto_modules
        and responses.method_names_from_class is _method_names_from_class  # type: ignore[comparison-overlap]
    )


def uninstall() -> None:
    backends.list_of_moto_modules = _ORIGINAL_MODULES
    responses.method_names_from_class = _ORIGINAL_METHOD_NAMES
