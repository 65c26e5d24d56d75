from __future__ import annotations

import pytest

from serverless_model.config import ConfigError, Options, load_document, resolve


def resolved(tmp_path, text: str, **options):
    path = tmp_path / "serverless.yml"
    path.write_text(text)
    return resolve(load_document(path), Options(env={"HOME_REGION": "eu-west-1"}, **options), path)


def test_variables_resolve_like_serverless(tmp_path):
    doc = resolved(
        tmp_path,
        """
service: demo
params:
  default: {shards: 2, name: events}
  prod: {shards: 8}
custom:
  table: ${self:service}-${sls:stage}-table
provider:
  stage: ${opt:stage, 'dev'}
  region: ${opt:region, env:HOME_REGION}
  environment:
    TABLE: ${self:custom.table}
    SHARDS: ${param:shards}
    ACCOUNT: ${aws:accountId}
    MISSING: ${env:NOPE, 'fallback'}
""",
        stage="prod",
    )
    env = doc["provider"]["environment"]
    assert env == {
        "TABLE": "demo-prod-table",
        "SHARDS": 8,
        "ACCOUNT": "000000000000",
        "MISSING": "fallback",
    }
    assert doc["provider"]["region"] == "eu-west-1"


def test_a_lone_variable_keeps_its_type(tmp_path):
    doc = resolved(
        tmp_path, "service: s\nparams: {default: {n: 3}}\nx: ${param:n}\ny: n=${param:n}\n"
    )
    assert doc["x"] == 3 and doc["y"] == "n=3"


def test_cloudformation_short_tags_become_long_forms(tmp_path):
    doc = resolved(
        tmp_path, "service: s\na: !GetAtt Stream.Arn\nb: !Ref Table\nc: !Join ['-', [x, y]]\n"
    )
    assert doc["a"] == {"Fn::GetAtt": ["Stream", "Arn"]}
    assert doc["b"] == {"Ref": "Table"}
    assert doc["c"] == {"Fn::Join": ["-", ["x", "y"]]}


def test_bad_yaml_names_the_file_and_place(tmp_path):
    with pytest.raises(ConfigError) as caught:
        resolved(tmp_path, "service: s\nprovider: [unclosed\n")
    assert "serverless.yml" in str(caught.value)
    assert "line" in caught.value.key and "invalid YAML" in caught.value.problem


def test_unresolvable_variable_names_the_key(tmp_path):
    with pytest.raises(ConfigError) as caught:
        resolved(tmp_path, "service: s\nprovider:\n  region: ${opt:region}\n")
    assert caught.value.key == "provider.region"
    assert "no value" in caught.value.problem


def test_unsupported_source_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unsupported variable"):
        resolved(tmp_path, "service: s\nx: ${ssm:/secret}\n")


def test_self_reference_cycle_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="refers to itself"):
        resolved(tmp_path, "service: s\na: ${self:b}\nb: ${self:a}\n")


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_document(tmp_path / "nope.yml")
