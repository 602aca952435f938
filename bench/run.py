"""One benchmark run: generate, importer alone, end to end, ceiling, naive; print and save figures."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.ceiling import measure_ceiling
from bench.generate import generate
from bench.measure import PeakRss, machine
from bench.naive import run_naive
from bench.pipeline import end_to_end, importer_alone
from bench.profile import render, summarise
from bench.stack import BenchStack, create_database, drop_database
from streams.settings import Settings

STAGES = ("importer", "e2e", "ceiling", "naive")
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Knobs:
    rows: int
    naive_rows: int
    workers: int
    seed: int
    stages: tuple[str, ...]
    out: Path
    profile: bool
    keep: bool
    timeout: float
    settings: Settings

    def as_json(self) -> dict[str, Any]:
        s = self.settings
        return {
            "rows": self.rows,
            "naive_rows": self.naive_rows,
            "workers": self.workers,
            "seed": self.seed,
            "partitions": s.partitions,
            "batch_size": s.batch_size,
            "batch_within_s": s.batch_within_s,
            "producer_linger_ms": s.producer_linger_ms,
            "producer_batch_bytes": s.producer_batch_bytes,
            "producer_compression": s.producer_compression,
            "profiled": self.profile,
        }


def dataset(rows: int, seed: int = 7, out: Path = RESULTS) -> tuple[Path, dict[str, Any]]:
    """The export of ``rows`` rows, generated once and reused (it is deterministic)."""
    path = out / "data" / f"export-{rows}-seed{seed}.csv"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, {**orjson.loads(meta.read_bytes()), "reused": True}
    started = time.perf_counter()
    export = generate(path, rows, seed)
    info = {
        "path": str(path),
        "rows": rows,
        "bytes": path.stat().st_size,
        "kinds": dict(export.kinds),
        "seconds": round(time.perf_counter() - started, 1),
    }
    meta.write_bytes(orjson.dumps(info))
    return path, info


def run(knobs: Knobs) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    prefix = f"bench{stamp.replace('-', '')}"
    tmp = knobs.out / "tmp" / prefix
    profile_dir = knobs.out / f"profile-{stamp}" if knobs.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started_at": stamp,
        "machine_at_start": machine(),
        "knobs": knobs.as_json(),
    }
    path, results["dataset"] = dataset(knobs.rows, knobs.seed, knobs.out)
    print(f"dataset: {path} ({results['dataset']['bytes'] / 2**20:.0f} MiB)", flush=True)
    base = knobs.settings
    stacks: list[BenchStack] = []
    try:
        with PeakRss() as rss:
            if "importer" in knobs.stages:
                stack = BenchStack.create(f"{prefix}_pub", base, tmp, with_database=False)
                stacks.append(stack)
                results["importer"] = importer_alone(
                    stack, path, rss, profile_dir / "importer.txt" if profile_dir else None
                )
                print(f"importer alone: {results['importer']}", flush=True)
            e2e_stack = None
            if "e2e" in knobs.stages:
                e2e_stack = BenchStack.create(f"{prefix}_e2e", base, tmp)
                stacks.append(e2e_stack)
                results["end_to_end"] = end_to_end(
                    e2e_stack, path, knobs.rows, knobs.workers, rss, profile_dir, knobs.timeout
                )
                print(f"end to end: {results['end_to_end']}", flush=True)
                e2e_stack.stop_workers()
        if "ceiling" in knobs.stages and e2e_stack is not None:
            maintenance = base.database_url.get_secret_value()
            results["ceiling"] = {
                f"copy_{n}conn": measure_ceiling(
                    e2e_stack.database_url, maintenance, f"{prefix}_ceil{n}", knobs.rows, n
                )
                for n in (1, 2)
            }
            print(f"ceiling: {results['ceiling']}", flush=True)
        if "naive" in knobs.stages:
            maintenance = base.database_url.get_secret_value()
            name = f"{prefix}_naive"
            url = create_database(maintenance, name)
            try:
                results["naive"] = run_naive(url, path, min(knobs.naive_rows, knobs.rows))
            finally:
                if not knobs.keep:
                    drop_database(maintenance, name)
            print(f"naive: {results['naive']}", flush=True)
    finally:
        if not knobs.keep:
            for stack in stacks:
                stack.close()
    results["machine_at_end"] = machine()
    results["ratios"] = ratios(results)
    if profile_dir is not None:
        results["profiles"] = {
            p.stem: summarise(p) for p in sorted(profile_dir.glob("*.txt")) if p.stat().st_size
        }
    return results


def ratios(r: dict[str, Any]) -> dict[str, float | None]:
    e2e = r.get("end_to_end", {}).get("rows_per_s")
    ceiling = max((c["rows_per_s"] for c in r.get("ceiling", {}).values()), default=None)
    naive = r.get("naive", {}).get("rows_per_s")
    publish = r.get("importer", {}).get("rows_per_s")

    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a and b else None

    return {
        "e2e_over_ceiling": div(e2e, ceiling),
        "e2e_over_naive": div(e2e, naive),
        "publish_over_e2e": div(publish, e2e),
    }


def targets(r: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Each target of the issue, the measured value and whether it is met."""
    q = r["ratios"]
    imp = r.get("importer", {}).get("peak_rss_mib")
    wrk = r.get("end_to_end", {}).get("worker_peak_rss_mib")

    def check(value: float | None, ok: bool) -> bool | None:
        return None if value is None else ok

    return [
        (
            "end to end >= 0.5x ceiling (goal 0.8x)",
            f"{q['e2e_over_ceiling']}x",
            check(q["e2e_over_ceiling"], (q["e2e_over_ceiling"] or 0) >= 0.5),
        ),
        (
            ">= 50x naive",
            f"{q['e2e_over_naive']}x",
            check(q["e2e_over_naive"], (q["e2e_over_naive"] or 0) >= 50),
        ),
        (
            "publish >= 2x end to end",
            f"{q['publish_over_e2e']}x",
            check(q["publish_over_e2e"], (q["publish_over_e2e"] or 0) >= 2),
        ),
        ("importer peak RSS < 200 MB", f"{imp} MiB", check(imp, (imp or 0) * 1.048576 < 200)),
        ("worker peak RSS < 500 MB", f"{wrk} MiB", check(wrk, (wrk or 0) * 1.048576 < 500)),
    ]


def table(r: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [("stage", "rows", "seconds", "rows/s", "peak RSS MiB", "notes")]
    if "importer" in r:
        i = r["importer"]
        rows.append(
            (
                "importer alone (publish)",
                f"{i['rows']:,}",
                f"{i['seconds']}",
                f"{i['rows_per_s']:,}",
                f"{i['peak_rss_mib']}",
                f"cpu {i['cpu_seconds']} s",
            )
        )
    if "end_to_end" in r:
        e = r["end_to_end"]
        rows.append(
            (
                "end to end (file -> committed)",
                f"{e['rows']:,}",
                f"{e['seconds']}",
                f"{e['rows_per_s']:,}",
                f"worker {e['worker_peak_rss_mib']}",
                f"{e['workers']} workers, {e['batches_per_s']} batches/s, {e['rows_per_batch']} rows/batch",
            )
        )
    for name, c in r.get("ceiling", {}).items():
        t = c["tables"]
        rows.append(
            (
                f"ceiling {name}",
                f"{r['knobs']['rows']:,}",
                f"{c['seconds']}",
                f"{c['rows_per_s']:,}",
                "-",
                f"leads {t['leads']['rows']:,} @ {t['leads']['rows_per_s']:,}/s, identities "
                f"{t['channel_identities']['rows']:,} @ {t['channel_identities']['rows_per_s']:,}/s",
            )
        )
    if "naive" in r:
        n = r["naive"]
        rows.append(
            (
                "naive (1 transaction/row)",
                f"{n['rows']:,}",
                f"{n['seconds']}",
                f"{n['rows_per_s']:,}",
                "-",
                "same rules, per-row SQL",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i in (0, 5) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    out = ["\n".join(lines), ""]
    if "end_to_end" in r:
        e = r["end_to_end"]
        out.append(
            f"outcomes: {e['outcomes']}; cpu seconds during end to end: {e['cpu_seconds']} "
            f"of {e['cpu_available_seconds']} available"
        )
    out.append("ratios: " + ", ".join(f"{k} = {v}" for k, v in r["ratios"].items()))
    for name, value, ok in targets(r):
        mark = "n/a" if ok is None else ("met" if ok else "MISSED")
        out.append(f"  [{mark:>6}] {name}: {value}")
    for name, summary in r.get("profiles", {}).items():
        out.append(render(f"profile {name}", summary))
    out.append(
        f"load average at start {r['machine_at_start']['loadavg_1_5_15']}, "
        f"at end {r['machine_at_end']['loadavg_1_5_15']} ({r['machine_at_start']['cpus']} cpus)"
    )
    return "\n".join(out)


def save(r: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench-{r['started_at']}-{r['knobs']['rows']}.json"
    data = orjson.dumps(r, option=orjson.OPT_INDENT_2)
    path.write_bytes(data)
    (out / "latest.json").write_bytes(data)
    return path
