"""The rules of the house (../shared/ARCHITECTURE.md), checked by reading the source with ast:
who may import what, and where a wire field name may be spelled."""

from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

import messages.envelopes
import messages.subscriptions
from tests.import_graph import cycles, imported_modules

ROOT = Path(__file__).resolve().parent.parent
TUMBLE_PACKAGES = frozenset(
    {"messages", "processor", "producer", "spectator", "gateway_adapter", "tumble", "benchmarks"}
)
# The model of a serverless.yml service: Tumble's tooling and the emulator both read it.
MODEL = "serverless_model"
# The SigV4 core: the processor signs with it and the emulator verifies with it, so it belongs
# to neither; it ships in the Lambda artifact.
SIGV4 = "sigv4_core"
REPO_PACKAGES = TUMBLE_PACKAGES | {MODEL, SIGV4}
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}
# What runs in Lambda: the contract, the standard library and what Lambda's runtime and the
# artifact provide.
PROCESSOR_MAY_IMPORT = STDLIB | {
    "messages",
    SIGV4,
    "boto3",
    "botocore",
    "aiobotocore",
    "aiohttp",
}


def sources(package: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / package).rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    """Top-level modules `path` imports (relative imports stay inside its own package)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def offending_imports(package: str, allowed: frozenset[str]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(package)
        for name in sorted(imported_roots(path) - allowed - {package})
    ]


def forbidden_imports(package: str, forbidden: frozenset[str], root: Path = ROOT) -> list[str]:
    """What `package` (a directory under root, e.g. tumble/deploy) imports of `forbidden`."""
    return [
        f"{path.relative_to(root)} imports {name}"
        for path in sources(package, root)
        for name in sorted(imported_roots(path) & forbidden)
    ]


def test_gateway_adapter_imports_nothing_of_tumble():
    """It reads serverless.yml through the model, and nothing else of this repository."""
    allowed = frozenset(
        name
        for path in sources("gateway_adapter")
        for name in imported_roots(path)
        if name not in REPO_PACKAGES
    )
    assert offending_imports("gateway_adapter", allowed | {MODEL, SIGV4}) == []


def test_the_sigv4_core_imports_only_the_stdlib_and_botocore():
    """Shared by the Lambda artifact and the emulator: it may know neither, and needs nothing
    Lambda's runtime lacks."""
    assert offending_imports(SIGV4, STDLIB | {"botocore"}) == []


def test_the_serverless_model_imports_neither_the_emulator_nor_tumble():
    """What a service declares, read as the Framework reads it: the emulator and Tumble's
    tooling build on it, so it may know neither."""
    assert forbidden_imports(MODEL, TUMBLE_PACKAGES) == []


@pytest.mark.parametrize("package", ["tumble/deploy", "tumble/packaging"])
def test_deploying_and_packaging_import_nothing_of_the_emulator(package):
    """What ships to AWS is built and deployed from the model alone (serverless_model)."""
    assert forbidden_imports(package, frozenset({"gateway_adapter"})) == []


@pytest.mark.parametrize("package", ["gateway_adapter", MODEL])
def test_gateway_adapter_starts_no_tumble_part_and_knows_no_tumble_variable(package):
    """An emulator of any service (and the model it reads): it must not start the producer or
    the page, nor write Tumble's variables (`tumble local` does that)."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for path in sources(package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and (
            node.value.startswith("TUMBLE_")
            or node.value in {"producer", "spectator.page", "tumble"}
        )
    ]
    assert found == []


def test_processor_imports_only_messages_the_stdlib_and_the_aws_sdks():
    assert offending_imports("processor", PROCESSOR_MAY_IMPORT) == []


def test_only_the_benchmarks_import_the_plotting():
    """matplotlib is the `bench` extra: nothing that runs the pipeline may need it."""
    found = [
        f"{path.relative_to(ROOT)}"
        for package in sorted(REPO_PACKAGES - {"benchmarks"})
        for path in sources(package)
        if "matplotlib" in imported_roots(path)
    ]
    assert found == []


def test_messages_imports_only_the_stdlib():
    assert offending_imports("messages", STDLIB) == []


@pytest.mark.parametrize("package", ["producer", "spectator"])
def test_producer_and_spectator_import_only_messages_of_tumble(package):
    everything_else = frozenset(
        name
        for path in sources(package)
        for name in imported_roots(path)
        if name not in REPO_PACKAGES
    )
    assert offending_imports(package, everything_else | {"messages"}) == []


# -- wire field names --------------------------------------------------------------------------

WIRE_FIELDS = frozenset(
    value
    for module in (messages.envelopes, messages.subscriptions)
    for name, value in vars(module).items()
    if name.isupper() and isinstance(value, str) and name != "MATCH_ALL"
)
# Where the check looks: Tumble's application code. gateway_adapter speaks AWS's vocabulary,
# which may coincide with ours by chance ("status", "event"); tests and benchmarks build wire
# input on purpose.
CHECKED = ("processor", "producer", "spectator", "tumble")
# Spelled outside messages/ today, tolerated until they move there (control-frame keys and the
# store's attribute names are being moved by other work). (file, literal): how many times.
KNOWN_EXCEPTIONS: Counter[tuple[str, str]] = Counter(
    {
        ("processor/__main__.py", "subscribe"): 1,
        ("processor/__main__.py", "event"): 1,
        ("processor/handlers/subscribe.py", "subscribe"): 1,
        ("processor/store.py", "event_type"): 2,
        ("processor/store.py", "filter_field"): 3,
        ("processor/store.py", "filter_expr"): 2,
        ("processor/store.py", "desired_fields"): 2,
        ("producer/cli.py", "source"): 1,
        ("producer/deadletter.py", "event"): 1,
        ("producer/simulate.py", "source"): 1,
        ("spectator/watch.py", "event"): 1,
        ("spectator/watch_model.py", "event"): 1,
        ("spectator/watch_view.py", "payload"): 1,
        # Same letters, other vocabularies: a log line's "message", the dead-letter file's
        # "error" column, the page server's HTTP error body, the watcher's screen status.
        ("processor/logs.py", "message"): 1,
        ("producer/deadletter.py", "error"): 1,
        ("spectator/page.py", "error"): 1,
        ("spectator/watch_view.py", "subscribed"): 1,
        ("tumble/quotas.py", "batched"): 1,  # a row's label in the quota table
        # DynamoDB's error body and botocore's ClientError spell their message so.
        ("processor/json_api.py", "message"): 1,
        ("processor/json_api.py", "Message"): 2,
    }
)


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def wire_fields_spelled() -> Counter[tuple[str, str]]:
    spelled: Counter[tuple[str, str]] = Counter()
    for package in CHECKED:
        for path in sources(package):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = _docstrings(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and node.value in WIRE_FIELDS
                    and id(node) not in docstrings
                ):
                    spelled[(path.relative_to(ROOT).as_posix(), node.value)] += 1
    return spelled


def test_wire_field_names_are_spelled_only_in_messages():
    new = wire_fields_spelled() - KNOWN_EXCEPTIONS
    assert not new, (
        "wire field names spelled outside messages/ (import the constant from messages "
        f"instead): {dict(new)}"
    )


def test_the_rules_catch_what_they_are_meant_to(tmp_path):
    """The checks themselves: an import of Tumble and a spelled field are seen."""
    sample = tmp_path / "sample.py"
    sample.write_text("import messages.tokens\nfrom producer import cli\nx = {'EventId': 1}\n")
    assert imported_roots(sample) == {"messages", "producer"}
    assert "EventId" in WIRE_FIELDS and "submitIotEvent" in WIRE_FIELDS


# -- gateway_adapter's rooms: who may import whom ----------------------------------------------

# One sub-package per thing the emulator stands in for; "cli" is __main__ (and __init__), which
# wires them together. The table is what the code does: esm and sqs_esm reach the Lambda
# runtime only through the `invoke` callable the cli hands them, and the patches of moto know
# nothing of the gateway (apigateway's own aiohttp patch borrows their premise checks).
ROOMS = ("embedded.patches", "embedded", "apigateway", "lambda_runtime", "esm", "sqs_esm")
ROOM_MAY_IMPORT: dict[str, frozenset[str]] = {
    "cli": frozenset({"apigateway", "lambda_runtime", "esm", "sqs_esm"}),
    "apigateway": frozenset({"lambda_runtime", "embedded.patches"}),
    "lambda_runtime": frozenset(),
    "esm": frozenset(),
    "sqs_esm": frozenset(),
    "embedded": frozenset({"embedded.patches"}),
    "embedded.patches": frozenset(),
}


def room_of(module: str) -> str | None:
    """The room of a dotted name in gateway_adapter (None outside it)."""
    if module != "gateway_adapter" and not module.startswith("gateway_adapter."):
        return None
    inner = module.removeprefix("gateway_adapter").removeprefix(".")
    return next((r for r in ROOMS if inner == r or inner.startswith(f"{r}.")), "cli")


def room_imports(root: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """(room, imported room): the files behind each edge between two rooms."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sources("gateway_adapter", root):
        here = room_of(".".join(path.relative_to(root).with_suffix("").parts))
        assert here is not None
        for there in {room_of(m) for m in imported_modules(path, root)} - {None, here}:
            assert there is not None
            edges.setdefault((here, there), []).append(path.relative_to(root).as_posix())
    return edges


def layering_violations(root: Path = ROOT) -> list[str]:
    return [
        f"{here} imports {there}: {', '.join(sorted(files))}"
        for (here, there), files in sorted(room_imports(root).items())
        if there not in ROOM_MAY_IMPORT.get(here, frozenset())
    ]


def room_cycles(root: Path = ROOT) -> list[str]:
    graph: dict[str, set[str]] = {}
    for here, there in room_imports(root):
        graph.setdefault(here, set()).add(there)
    return cycles(graph)


def test_each_room_of_the_gateway_adapter_imports_only_what_its_row_allows():
    assert layering_violations() == []


def test_no_import_cycle_between_the_gateway_adapters_rooms():
    assert room_cycles() == []


def test_the_layering_rules_catch_what_they_are_meant_to(tmp_path):
    """Each rule on a planted violation: the frame patch back under embedded/patches importing
    the gateway's quotas (what the move found), which with the gateway importing the patch is
    also a cycle; a Kinesis ESM reaching into apigateway; the model importing the emulator and
    Tumble; deployment importing the emulator."""
    plant = {
        "gateway_adapter/__main__.py": "from .esm import poller\n",
        "gateway_adapter/apigateway/server.py": "from ..embedded.patches import aiohttp_frames\n",
        "gateway_adapter/embedded/patches/aiohttp_frames.py": (
            "from ...apigateway.limits import FRAME_MAX_BYTES\n"
        ),
        "gateway_adapter/esm/poller.py": "from gateway_adapter.apigateway import events\n",
        "serverless_model/service.py": "from gateway_adapter.sqs_esm import config\nimport tumble",
        "tumble/deploy/stage.py": "from gateway_adapter.embedded.backend import free_port\n",
    }
    for name, text in plant.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert layering_violations(tmp_path) == [
        "embedded.patches imports apigateway: gateway_adapter/embedded/patches/aiohttp_frames.py",
        "esm imports apigateway: gateway_adapter/esm/poller.py",
    ]
    assert room_cycles(tmp_path) == ["apigateway -> embedded.patches -> apigateway"]
    assert forbidden_imports(MODEL, TUMBLE_PACKAGES, tmp_path) == [
        "serverless_model/service.py imports gateway_adapter",
        "serverless_model/service.py imports tumble",
    ]
    assert forbidden_imports("tumble/deploy", frozenset({"gateway_adapter"}), tmp_path) == [
        "tumble/deploy/stage.py imports gateway_adapter"
    ]


# -- benchmarks: no circle, no private names --------------------------------------------------


def benchmark_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for every import of a benchmarks module in `path`, at any depth (a
    function-local import makes a circle as surely as a top-level one); name is None for
    `import benchmarks.x`, and for `from benchmarks import x` the module is benchmarks.x."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.startswith("benchmarks.")]
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = node.module if node.level == 0 else f"benchmarks.{node.module}"
            if module == "benchmarks":
                found += [(f"benchmarks.{a.name}", None) for a in node.names]
            elif module.startswith("benchmarks."):
                found += [(module, a.name) for a in node.names]
    return found


def benchmark_module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_no_benchmark_imports_another_modules_private_names():
    """A helper module may be private to the package (`_gateway_parts`), but a private name
    inside a module is that module's own: what two benchmarks share lives in benchmarks.common
    or a helper module, under a public name."""
    found = [
        f"{benchmark_module(path)} imports {name} from {module}"
        for path in sources("benchmarks")
        for module, name in benchmark_imports(path)
        if name is not None and name.startswith("_")
    ]
    assert found == []


def test_no_import_cycle_among_the_benchmarks():
    graph = {
        benchmark_module(path): {module for module, _ in benchmark_imports(path)}
        for path in sources("benchmarks")
    }
    assert cycles(graph) == []


LOCAL_URL_SPELLING = re.compile(r"(?:ws|http)://127\.0\.0\.1:(?:3001|4566|8080)\b")


def test_the_local_endpoints_are_spelled_once_in_messages_local():
    """Every default of the fixed local interface comes from messages.local; a second spelling
    is how the producer, the page and the watcher once drifted apart (docstrings may say it)."""
    spelled = []
    for package in ("messages", "processor", "producer", "spectator", "tumble", "benchmarks"):
        for path in sources(package):
            if path.name == "local.py" and path.parent.name == "messages":
                continue
            tree = ast.parse(path.read_text())
            skipped = _docstrings(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in skipped
                    and LOCAL_URL_SPELLING.search(node.value)
                ):
                    spelled.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not spelled, f"spell these with messages.local: {spelled}"


def test_the_gateway_adapters_own_defaults_agree_with_messages_local():
    """gateway_adapter/ may import no Tumble package, so its command-line defaults are its own;
    they must still be the ports of the interface that stays fixed."""
    from gateway_adapter.apigateway import connection
    from messages import local

    main = (ROOT / "gateway_adapter" / "__main__.py").read_text()
    embedded = (ROOT / "gateway_adapter" / "embedded" / "backend.py").read_text()
    assert f'"--port", type=int, default={local.GATEWAY_PORT}' in main
    assert f'"--port", type=int, default={local.AWS_PORT}' in embedded
    assert connection.GatewayConfig(stage=local.STAGE).port == local.GATEWAY_PORT
