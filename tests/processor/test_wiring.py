from __future__ import annotations

import threading

import pytest

from processor import wiring


def test_once_builds_a_single_instance_across_threads():
    built: list[object] = []
    gate = threading.Barrier(8)

    def factory() -> object:
        built.append(object())
        return built[-1]

    get = wiring.once(factory)
    results: list[object] = []

    def call() -> None:
        gate.wait()
        results.append(get())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and all(r is built[0] for r in results)


def test_once_retries_a_factory_that_failed():
    attempts: list[int] = []

    def factory() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("cold start failed")
        return 7

    get = wiring.once(factory)
    with pytest.raises(RuntimeError):
        get()
    assert get() == 7


def test_a_missing_table_name_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("CONNECTIONS_TABLE", raising=False)
    with pytest.raises(RuntimeError, match="CONNECTIONS_TABLE"):
        wiring._store()


def test_an_unknown_fanout_client_is_a_clear_error():
    from aiobotocore.session import get_session

    with pytest.raises(RuntimeError, match=wiring.CLIENT_ENV):
        wiring.connections_api(get_session(), 4, "curl")


def test_the_signed_client_needs_a_region(monkeypatch):
    from aiobotocore.session import get_session

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(ValueError, match="region"):
        wiring.connections_api(get_session(), 4)
