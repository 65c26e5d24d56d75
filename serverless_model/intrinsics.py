"""The CloudFormation intrinsics a local stack can evaluate before any stack exists: `Ref` of a
pseudo parameter (AWS::AccountId, AWS::Region...) and `Fn::Join` of what resolves to strings.

serverless.yml uses them where the Framework's `${aws:accountId}` would make `serverless
package` call STS; CloudFormation resolves them at deploy time, and this module resolves the
same forms with the local backend's account and region, so both read one file. Anything else
(`Fn::GetAtt`, `Ref` of a resource) is left as it is, for the code that knows what it means."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["evaluate", "pseudo_parameters"]


def pseudo_parameters(account_id: str, region: str, stack_name: str) -> dict[str, str]:
    """CloudFormation's pseudo parameters for a stack (AWS::NoValue and the notification ARNs
    have no meaning before a deploy and are left out)."""
    china = region.startswith("cn-")
    gov = region.startswith("us-gov-")
    return {
        "AWS::AccountId": account_id,
        "AWS::Region": region,
        "AWS::StackName": stack_name,
        "AWS::Partition": "aws-cn" if china else "aws-us-gov" if gov else "aws",
        "AWS::URLSuffix": "amazonaws.com.cn" if china else "amazonaws.com",
    }


def evaluate(node: Any, pseudo: Mapping[str, str]) -> Any:
    """A copy of `node` with every evaluable intrinsic replaced by its value."""
    if isinstance(node, list):
        return [evaluate(item, pseudo) for item in node]
    if not isinstance(node, dict):
        return node
    evaluated = {key: evaluate(value, pseudo) for key, value in node.items()}
    if len(evaluated) != 1:
        return evaluated
    (name, argument), *_ = evaluated.items()
    if name == "Ref" and isinstance(argument, str) and argument in pseudo:
        return pseudo[argument]
    if name == "Fn::Join" and _joinable(argument):
        delimiter, parts = argument
        return str(delimiter).join(str(part) for part in parts)
    return evaluated


def _joinable(argument: Any) -> bool:
    """`[delimiter, [parts...]]` whose parts are all plain values by now."""
    return (
        isinstance(argument, list)
        and len(argument) == 2
        and isinstance(argument[0], str)
        and isinstance(argument[1], list)
        and all(isinstance(part, str | int | float) for part in argument[1])
    )
