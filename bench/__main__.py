"""``python -m bench [--rows N] …``: run the benchmark, print the table, write the JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.run import RESULTS, STAGES, Knobs, run, save, table
from streams.settings import Settings


def parse(argv: list[str] | None = None) -> Knobs:
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated export")
    p.add_argument("--naive-rows", type=int, default=20_000, help="rows the naive path applies")
    p.add_argument("--workers", type=int, default=1, help="worker processes end to end")
    p.add_argument("--partitions", type=int, default=d.partitions)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="worker records per batch")
    p.add_argument("--batch-within", type=float, default=d.batch_within_s, help="worker batch linger, s")
    p.add_argument("--linger-ms", type=int, default=d.producer_linger_ms, help="importer producer linger")
    p.add_argument("--producer-batch-bytes", type=int, default=d.producer_batch_bytes)
    p.add_argument("--compression", default=d.producer_compression, help="importer producer compression")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    p.add_argument("--out", type=Path, default=RESULTS, help="where results, data and profiles go")
    p.add_argument("--profile", action="store_true", help="sample importer and workers with py-spy")
    p.add_argument("--keep", action="store_true", help="keep the run's databases and topics")
    p.add_argument("--timeout", type=float, default=1800.0, help="end-to-end deadline, s")
    a = p.parse_args(argv)
    stages = tuple(s.strip() for s in a.stages.split(",") if s.strip())
    unknown = set(stages) - set(STAGES)
    if unknown:
        p.error(f"unknown stages: {', '.join(sorted(unknown))}")
    settings = d.model_copy(
        update={
            "partitions": a.partitions,
            "batch_size": a.batch_size,
            "batch_within_s": a.batch_within,
            "producer_linger_ms": a.linger_ms,
            "producer_batch_bytes": a.producer_batch_bytes,
            "producer_compression": a.compression,
        }
    )
    return Knobs(
        a.rows, a.naive_rows, a.workers, a.seed, stages, a.out, a.profile, a.keep, a.timeout, settings
    )


def main() -> None:
    knobs = parse()
    results = run(knobs)
    print()
    print(table(results))
    print(f"\nresults: {save(results, knobs.out)}")


if __name__ == "__main__":
    main()
