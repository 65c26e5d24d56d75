"""The model of a serverless.yml service: what a service declares, read the way the Serverless
Framework v3 reads it, and the resources it declares created on a backend.

- config: the YAML, the Framework's variables (Options, resolve), ConfigError.
- intrinsics: the CloudFormation intrinsic functions evaluated locally.
- service: Service, Function, WebSocketRoute, StreamTrigger (load_service).
- sqs: the `sqs` event (SqsTrigger).
- bootstrap: creating the declared resources on a backend (`python -m serverless_model.bootstrap`).

Used by the emulator (gateway_adapter) and by Tumble's tooling (tumble/), it imports neither
(tests/test_house_rules.py)."""
