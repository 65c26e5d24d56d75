"""Why the gateway benchmark's serverless-offline column may be missing, said plainly."""

from __future__ import annotations

from benchmarks._serverless_offline import FOLDER, unavailable_reason


def test_without_node_the_reason_is_node(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert unavailable_reason() == "node is not on PATH"


def test_without_the_install_the_reason_says_how_to_get_it(tmp_path):
    reason = unavailable_reason(tmp_path)
    assert reason == "node is not on PATH" or "run `make bench`" in str(reason)


def test_the_peer_is_pinned_to_serverless_3_and_serverless_offline_13():
    import json

    pins = json.loads((FOLDER / "package.json").read_text())["devDependencies"]
    assert pins["serverless"].startswith("3.") and pins["serverless-offline"].startswith("13.")
    locked = json.loads((FOLDER / "package-lock.json").read_text())["packages"]
    assert locked["node_modules/serverless"]["version"] == pins["serverless"]
