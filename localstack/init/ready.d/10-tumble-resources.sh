#!/bin/bash
# Runs inside the LocalStack container once it is ready: creates the resources of
# serverless.yml with the same bootstrap the embedded backend uses (the repository is mounted at
# /opt/tumble), so LocalStack users get the stream, the table and the bucket without `make local`.
set -euo pipefail
export AWS_ENDPOINT_URL=http://localhost:4566 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
cd /opt/tumble
PYTHONPATH=/opt/tumble python3 -m serverless_model.bootstrap --config serverless.yml \
  --stage "${TUMBLE_STAGE:-local}"
