"""Lambda's runtime stand-in: invoking a service's functions in-process or in sandboxed worker
processes built from the artifact (runtime, sandboxes, lambda_worker), under Lambda's account
and reserved concurrency (concurrency).

Empty on purpose: importing one module does not import the others."""
