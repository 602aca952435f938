"""Write schemas/json/<name>.json from the event models: ``python -m schemas.generate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas.events import CONTRACTS

JSON_DIR = Path(__file__).parent / "json"


def render(name: str) -> str:
    schema = CONTRACTS[name].model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://leadstream.dev/schemas/{name}.json"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> int:
    JSON_DIR.mkdir(exist_ok=True)
    for name in CONTRACTS:
        (JSON_DIR / f"{name}.json").write_text(render(name))
        print(f"wrote schemas/json/{name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
