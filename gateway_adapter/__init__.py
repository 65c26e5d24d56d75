"""An emulator of API Gateway WebSocket APIs, their Lambda integrations and the Kinesis event
source mapping, driven by any serverless.yml; a regular package so that it installs with the
wheel and type-checks like the others."""
