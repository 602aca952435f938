"""The worker's ANALYZE schedule: after each doubling of what it wrote, never on every batch."""

from __future__ import annotations

from streams.analyze import Analyzer


def test_analyze_falls_due_at_each_doubling_of_the_rows_written() -> None:
    analyzer = Analyzer(min_rows=100)
    due_at = []
    for batch in range(1, 201):  # 200 batches of 10 rows
        if analyzer.record(10):
            due_at.append(batch * 10)
            analyzer.done()
    assert due_at == [100, 200, 400, 800, 1600]
