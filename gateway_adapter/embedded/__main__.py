"""`python -m gateway_adapter.embedded`: moto's server on loopback (see backend)."""

from __future__ import annotations

from .backend import main

if __name__ == "__main__":
    main()
