"""`python -m messages`: print the contract (event types and their fields) as JSON."""

from __future__ import annotations

import json

from .events import SCHEMAS


def main() -> None:
    contract = {
        str(event_type): {
            name: {
                "nullable": spec.nullable,
                "required": spec.required,
                "choices": list(spec.choices) or None,
            }
            for name, spec in fields.items()
        }
        for event_type, fields in SCHEMAS.items()
    }
    print(json.dumps(contract, indent=2))


if __name__ == "__main__":
    main()
