"""Run the real importer on a file in its own process and print what it did as one JSON line.

``python -m bench.publish FILE ORG IMPORT_ID [DEFAULT_REGION]``, settings from the environment.
A process of its own so that its peak memory is the importer's alone.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import orjson

from processors.contact import ImportOptions
from processors.mapping import map_headers
from streams.importer import importer_producer, publish_import
from streams.readers import open_table
from streams.settings import Settings


def main(argv: list[str]) -> None:
    path, org_id, import_id = Path(argv[0]), argv[1], argv[2]
    region = argv[3] if len(argv) > 3 else "US"
    settings = Settings()
    started = time.perf_counter()
    table = open_table(path)
    try:
        report = publish_import(
            table,
            map_headers(table.header),
            org_id=org_id,
            options=ImportOptions(default_region=region),
            settings=settings,
            producer=importer_producer(settings),
            import_id=import_id,
        )
    finally:
        table.close()
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {
        "rows": report.rows,
        "rejected": report.rejected,
        "seconds": seconds,
        "maxrss_kib": own.ru_maxrss,
        "children_maxrss_kib": children.ru_maxrss,
        "cpu_seconds": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
    }
    sys.stdout.write(orjson.dumps(out).decode() + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
