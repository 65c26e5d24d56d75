"""Creating a service's CloudFormation resources on a local backend, idempotently.

Only the subset local stacks need: Kinesis streams, DynamoDB tables (with indexes and TTL), S3
buckets, SQS queues and SNS topics. Running it twice changes nothing the second time; each
step reports whether it created or found the resource."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from .config import ConfigError
from .service import Service

__all__ = ["Change", "ResourceKind", "bootstrap_resources"]

STREAM_ACTIVE_TIMEOUT_S = 60
# AWS::SQS::Queue properties that are CreateQueue attributes of the same name and meaning.
QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)
ClientFactory = Callable[[str], Any]
ResourceKind = Literal["stream", "table", "bucket", "queue", "topic"]


@dataclass(frozen=True, slots=True)
class Change:
    logical_id: str
    kind: ResourceKind
    name: str
    created: bool

    def __str__(self) -> str:
        return f"{'created' if self.created else 'exists '} {self.kind} {self.name}"


def bootstrap_resources(service: Service, client: ClientFactory) -> list[Change]:
    """`client(name)` returns a boto3 client for that service on the chosen backend."""
    creators: Mapping[str, Callable[[ClientFactory, str, dict[str, Any]], Change]] = {
        "AWS::Kinesis::Stream": _stream,
        "AWS::DynamoDB::Table": _table,
        "AWS::S3::Bucket": _bucket,
        "AWS::SQS::Queue": _queue,
        "AWS::SNS::Topic": _topic,
    }
    changes = []
    for logical_id, resource in _in_dependency_order(service.resources):
        key = f"resources.Resources.{logical_id}"
        if not isinstance(resource, dict) or "Type" not in resource:
            raise ConfigError(service.path, key, "must be a mapping with a Type")
        create = creators.get(resource["Type"])
        if create is None:
            continue  # e.g. IAM or alarms: meaningful in AWS, nothing to emulate locally
        properties = resource.get("Properties") or {}
        if not isinstance(properties, dict):
            raise ConfigError(service.path, f"{key}.Properties", "must be a mapping")
        if resource["Type"] == "AWS::SQS::Queue":
            properties = _queue_policies(service, f"{key}.Properties", properties)
        changes.append(create(client, logical_id, properties))
    return changes


def _in_dependency_order(resources: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Queues with a RedrivePolicy last: SQS refuses a dead-letter target that does not exist
    yet, and CloudFormation orders them the same way through the policy's Fn::GetAtt."""

    def redrives(item: tuple[str, Any]) -> bool:
        resource = item[1]
        return (
            isinstance(resource, dict)
            and resource.get("Type") == "AWS::SQS::Queue"
            and isinstance(resource.get("Properties"), dict)
            and "RedrivePolicy" in resource["Properties"]
        )

    return sorted(resources.items(), key=redrives)


def _queue_policies(service: Service, key: str, props: dict[str, Any]) -> dict[str, Any]:
    """RedrivePolicy and RedriveAllowPolicy as CreateQueue wants them: JSON strings, with the
    `Fn::GetAtt [X, Arn]` CloudFormation would resolve already resolved."""
    resolved = dict(props)
    for name in ("RedrivePolicy", "RedriveAllowPolicy"):
        policy = props.get(name)
        if policy is None or isinstance(policy, str):
            continue
        if not isinstance(policy, dict):
            raise ConfigError(service.path, f"{key}.{name}", "must be a mapping or JSON text")
        resolved[name] = json.dumps(
            {field: _arns(service, f"{key}.{name}.{field}", v) for field, v in policy.items()}
        )
    return resolved


def _arns(service: Service, key: str, node: Any) -> Any:
    if isinstance(node, list):
        return [_arns(service, key, item) for item in node]
    if isinstance(node, dict):
        target = node.get("Fn::GetAtt")
        if len(node) == 1 and isinstance(target, list) and len(target) == 2:
            if target[1] != "Arn":
                raise ConfigError(service.path, key, "only Fn::GetAtt [Resource, Arn] resolves")
            return service.resource_arn(str(target[0]))
        raise ConfigError(service.path, key, "must be an ARN or Fn::GetAtt [Resource, Arn]")
    return node


def _exists(error: ClientError, *codes: str) -> bool:
    return error.response.get("Error", {}).get("Code") in codes


def _stream(client: ClientFactory, logical_id: str, props: dict[str, Any]) -> Change:
    kinesis = client("kinesis")
    name = props.get("Name", logical_id)
    created = True
    try:
        kinesis.create_stream(StreamName=name, ShardCount=int(props.get("ShardCount", 1)))
    except ClientError as error:
        if not _exists(error, "ResourceInUseException"):
            raise
        created = False
    waiter_deadline = time.monotonic() + STREAM_ACTIVE_TIMEOUT_S
    while (
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        != "ACTIVE"
    ):
        if time.monotonic() > waiter_deadline:
            raise TimeoutError(f"stream {name} did not become ACTIVE")
        time.sleep(0.1)
    return Change(logical_id, "stream", name, created)


def _table(client: ClientFactory, logical_id: str, props: dict[str, Any]) -> Change:
    dynamodb = client("dynamodb")
    name = props.get("TableName", logical_id)
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(index_kind):
            request[index_kind] = props[index_kind]
    if props.get("StreamSpecification"):
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    created = True
    try:
        dynamodb.create_table(**request)
    except ClientError as error:
        if not _exists(error, "ResourceInUseException"):
            raise
        created = False
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1})
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
    return Change(logical_id, "table", name, created)


def _bucket(client: ClientFactory, logical_id: str, props: dict[str, Any]) -> Change:
    s3 = client("s3")
    name = props.get("BucketName", logical_id.lower())
    try:
        s3.head_bucket(Bucket=name)
        return Change(logical_id, "bucket", name, created=False)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
    created = True
    try:
        region = s3.meta.region_name
        extra = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=name, **extra)
    except ClientError as error:
        if not _exists(error, "BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
        created = False
    return Change(logical_id, "bucket", name, created)


def _queue(client: ClientFactory, logical_id: str, props: dict[str, Any]) -> Change:
    sqs = client("sqs")
    name = props.get("QueueName", logical_id)
    existed = name in [
        url.rsplit("/", 1)[-1] for url in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])
    ]
    if not existed:
        attributes = {
            attribute: str(props[attribute]).lower()
            if isinstance(props[attribute], bool)
            else str(props[attribute])
            for attribute in QUEUE_ATTRIBUTES
            if attribute in props
        }
        sqs.create_queue(QueueName=name, Attributes=attributes)
    return Change(logical_id, "queue", name, not existed)


def _topic(client: ClientFactory, logical_id: str, props: dict[str, Any]) -> Change:
    sns = client("sns")
    name = props.get("TopicName", logical_id)
    arns = [t["TopicArn"] for t in sns.list_topics().get("Topics", [])]
    existed = any(arn.rsplit(":", 1)[-1] == name for arn in arns)
    sns.create_topic(Name=name)  # idempotent
    return Change(logical_id, "topic", name, not existed)


def main(argv: list[str] | None = None) -> int:
    """`python -m serverless_model.bootstrap`: create the resources on AWS_ENDPOINT_URL (used by
    LocalStack's init hook)."""
    import argparse
    import os

    import boto3

    from .config import Options
    from .service import load_service

    parser = argparse.ArgumentParser(prog="python -m serverless_model.bootstrap")
    parser.add_argument("--config", default="serverless.yml")
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    session = boto3.Session()
    endpoint = os.environ.get("AWS_ENDPOINT_URL")

    def client(name: str) -> Any:
        make: Callable[..., Any] = session.client  # the service is named at run time
        return make(name, endpoint_url=endpoint)

    account = client("sts").get_caller_identity()["Account"]
    try:
        service = load_service(
            args.config, Options(stage=args.stage, region=session.region_name, account_id=account)
        )
        for change in bootstrap_resources(service, client):
            print(change, flush=True)
    except ConfigError as error:
        print(error, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
