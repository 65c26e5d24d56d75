"""The embedded AWS backend: moto's server on loopback (backend, `python -m
gateway_adapter.embedded`) and its patches of moto's internals (patches).

Empty on purpose: importing the patches' premises does not import moto's server."""
