"""The `sqs` event of a serverless.yml function, read as the Serverless Framework v3 compiles
it (lib/plugins/aws/package/compile/events/sqs.js) and checked against Lambda's limits for
an SQS event source mapping, so a file that `serverless deploy` would refuse stops here too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import ConfigError

__all__ = [
    "DEFAULT_SQS_BATCH_SIZE",
    "MAX_SQS_BATCHING_WINDOW_S",
    "MAX_SQS_BATCH_SIZE",
    "MAX_SQS_BATCH_SIZE_NO_WINDOW",
    "SqsTrigger",
    "parse_sqs_event",
]

# The Framework's default BatchSize; Enabled defaults to true, MaximumBatchingWindowInSeconds
# is left out (Lambda's default for SQS is 0).
DEFAULT_SQS_BATCH_SIZE = 10
# Lambda: BatchSize 1-10 for a standard queue without a batching window, up to 10,000 with a
# window of at least 1 s; FIFO queues at most 10 and no window at all.
MAX_SQS_BATCH_SIZE_NO_WINDOW = 10
MAX_SQS_BATCH_SIZE = 10_000
MAX_SQS_BATCHING_WINDOW_S = 300
# ScalingConfig.MaximumConcurrency: 2-1000.
MIN_MAXIMUM_CONCURRENCY = 2
MAX_MAXIMUM_CONCURRENCY = 1000
# The keys the Framework's schema accepts (additionalProperties: false).
_KEYS = frozenset(
    {
        "arn",
        "batchSize",
        "enabled",
        "maximumBatchingWindow",
        "functionResponseType",
        "filterPatterns",
        "maximumConcurrency",
    }
)

ArnResolver = Callable[[Any, str], str]


@dataclass(frozen=True, slots=True)
class SqsTrigger:
    """One `sqs` event: the SQS event source mapping of a function."""

    function: str
    queue_arn: str
    batch_size: int = DEFAULT_SQS_BATCH_SIZE
    maximum_batching_window_s: int = 0
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None
    enabled: bool = True

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[-1]

    @property
    def account_id(self) -> str:
        return self.queue_arn.split(":")[4]

    @property
    def fifo(self) -> bool:
        return self.queue_name.endswith(".fifo")


def _integer(spec: dict[str, Any], name: str, default: int, fail: Callable[..., Any]) -> int:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(name, f"must be an integer, not {value!r}")
    return value


def parse_sqs_event(
    fname: str, raw: Any, key: str, resolve_arn: ArnResolver, path: Any
) -> SqsTrigger:
    """`raw` is the value of `sqs:` (a mapping, or the Framework's short form, a plain ARN);
    `resolve_arn(node, key)` turns an ARN or `Fn::GetAtt [X, Arn]` into an ARN."""

    def fail(name: str, problem: str) -> ConfigError:
        return ConfigError(path, f"{key}.{name}" if name else key, problem)

    if isinstance(raw, str):
        spec: dict[str, Any] = {"arn": raw}
    elif isinstance(raw, dict):
        spec = raw
    else:
        raise fail("", "must be a queue ARN or a mapping with arn")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise fail(unknown[0], f"is not an sqs event setting (known: {', '.join(sorted(_KEYS))})")
    if "arn" not in spec:
        raise fail("arn", "is required")
    if "filterPatterns" in spec:
        # Lambda deletes the messages a filter drops; invoking with them instead would hand
        # the function what it never sees on AWS.
        raise fail("filterPatterns", "event filtering is not run locally; remove it")
    arn = resolve_arn(spec["arn"], f"{key}.arn")
    if not arn.startswith("arn:") or arn.split(":")[2:3] != ["sqs"] or len(arn.split(":")) != 6:
        raise fail("arn", f"{arn} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)")
    window = _integer(spec, "maximumBatchingWindow", 0, fail)
    if not 0 <= window <= MAX_SQS_BATCHING_WINDOW_S:
        raise fail("maximumBatchingWindow", f"must be 0 to {MAX_SQS_BATCHING_WINDOW_S} seconds")
    batch_size = _integer(spec, "batchSize", DEFAULT_SQS_BATCH_SIZE, fail)
    fifo = arn.endswith(".fifo")
    if fifo and window:
        raise fail("maximumBatchingWindow", "is not supported for FIFO queues")
    limit = MAX_SQS_BATCH_SIZE if window >= 1 and not fifo else MAX_SQS_BATCH_SIZE_NO_WINDOW
    if not 1 <= batch_size <= limit:
        why = (
            "for a FIFO queue"
            if fifo
            else "without a maximumBatchingWindow of at least 1 s"
            if limit == MAX_SQS_BATCH_SIZE_NO_WINDOW
            else "with a batching window"
        )
        raise fail("batchSize", f"must be 1 to {limit} {why}")
    response_type = spec.get("functionResponseType")
    if response_type not in (None, "ReportBatchItemFailures"):
        raise fail("functionResponseType", "must be ReportBatchItemFailures")
    concurrency = spec.get("maximumConcurrency")
    if concurrency is not None:
        concurrency = _integer(spec, "maximumConcurrency", 0, fail)
        if not MIN_MAXIMUM_CONCURRENCY <= concurrency <= MAX_MAXIMUM_CONCURRENCY:
            raise fail(
                "maximumConcurrency",
                f"must be {MIN_MAXIMUM_CONCURRENCY} to {MAX_MAXIMUM_CONCURRENCY}",
            )
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", "must be true or false")
    return SqsTrigger(
        function=fname,
        queue_arn=arn,
        batch_size=batch_size,
        maximum_batching_window_s=window,
        report_batch_item_failures=response_type == "ReportBatchItemFailures",
        maximum_concurrency=concurrency,
        enabled=enabled,
    )
