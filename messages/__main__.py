"""`python -m messages`: print the contract (event types and their fields) as JSON;
`python -m messages schema`: print the whole wire contract as a JSON Schema (the checked-in
messages/wire-schema.json is its output)."""

from __future__ import annotations

import json
import sys

from .events import SCHEMAS
from .schema import schema_text


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args == ["schema"]:
        sys.stdout.write(schema_text())
        return
    if args:
        raise SystemExit("usage: python -m messages [schema]")
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
