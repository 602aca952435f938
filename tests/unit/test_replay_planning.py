"""Replay planning: offsets only move back, never past records the group has not processed."""

from __future__ import annotations

from streams.offsets import Group, Member, PartitionLag
from streams.replay import plan_resets, refusal

T = "lead_import_row"


def test_from_the_beginning_rewinds_to_the_log_start() -> None:
    plan = plan_resets(
        {(T, 0): (10, 100), (T, 1): (0, 50)}, {(T, 0): 100, (T, 1): 40}, {(T, 0): 10, (T, 1): 0}
    )
    assert [(r.partition, r.new_offset, r.records) for r in plan] == [(0, 10, 90), (1, 0, 40)]


def test_a_target_past_the_committed_offset_never_skips_records() -> None:
    plan = plan_resets({(T, 0): (0, 100)}, {(T, 0): 30}, {(T, 0): 60})
    assert (plan[0].new_offset, plan[0].records) == (None, 0)


def test_no_record_since_the_time_means_the_log_end() -> None:
    plan = plan_resets(
        {(T, 0): (0, 100), (T, 1): (0, 100)}, {(T, 0): 100, (T, 1): 80}, {(T, 0): -1, (T, 1): -1}
    )
    assert [r.target for r in plan] == [100, 100]
    assert [r.new_offset for r in plan] == [None, None]


def test_a_partition_never_committed_is_left_to_auto_offset_reset() -> None:
    plan = plan_resets({(T, 0): (0, 100)}, {}, {(T, 0): 0})
    assert (plan[0].committed, plan[0].new_offset, plan[0].records) == (None, None, 0)


def test_targets_are_clamped_to_the_retained_log() -> None:
    # retention deleted offsets below 20: a rewind to 5 is a rewind to 20
    plan = plan_resets({(T, 0): (20, 100)}, {(T, 0): 90}, {(T, 0): 5})
    assert (plan[0].new_offset, plan[0].records) == (20, 70)


def test_plans_are_in_topic_and_partition_order() -> None:
    bounds = {("b", 1): (0, 1), ("a", 2): (0, 1), ("a", 0): (0, 1)}
    assert [(r.topic, r.partition) for r in plan_resets(bounds, {}, {})] == [("a", 0), ("a", 2), ("b", 1)]


def test_refusal_names_the_members_and_how_to_stop_them() -> None:
    assert refusal(Group("g", "empty", ())) is None
    members = (Member("faust-0.15.3", "10.0.0.5", ((T, 0),)), Member("faust-0.15.3", "10.0.0.6", ()))
    reason = refusal(Group("g", "stable", members))
    assert reason is not None
    assert "2 active members (faust-0.15.3@10.0.0.5, faust-0.15.3@10.0.0.6)" in reason
    assert "Stop every `leadstream worker`" in reason


def test_lag_counts_from_the_log_start_when_nothing_was_committed() -> None:
    assert PartitionLag(T, 0, 10, 100, None).lag == 90
    assert PartitionLag(T, 0, 10, 100, 95).lag == 5
    assert PartitionLag(T, 0, 50, 100, 20).lag == 50  # committed offset fell out of retention
