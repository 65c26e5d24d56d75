"""An emulator of API Gateway WebSocket APIs, their Lambda integrations and the Kinesis and SQS
event source mappings, driven by any serverless.yml (read by serverless_model); a regular
package so that it installs with the wheel and type-checks like the others.

One sub-package per thing it stands in for:

- apigateway: the WebSocket API, the @connections management API (SigV4), routes, the
  authorizer, API Gateway's quotas and event shapes, and the aiohttp server they run on.
- lambda_runtime: the Lambda runtime (in-process or sandboxed workers), concurrency.
- esm: the Kinesis event source mapping. sqs_esm: the SQS event source mapping.
- embedded: the embedded AWS backend (moto's server) and its patches of moto's internals.

`python -m gateway_adapter` (__main__) wires them together; tests/test_house_rules.py holds
which sub-package may import which."""
