"""A snapshot taken while valkey runs a background save of its own (as after a replica's full
sync) waits for it instead of failing: AWS does not fail a snapshot for valkey's housekeeping."""

from __future__ import annotations

from ec_harness import Harness, harness  # noqa: F401  (fixture)


def test_snapshot_waits_out_a_background_save(harness: Harness) -> None:
    harness.call("CreateServerlessCache", ServerlessCacheName="busy", Engine="valkey")
    harness.wait_status("busy", "available")
    admin = harness.admin("busy")
    admin.set("k", "v" * 1000)
    # valkey holds the background save's child until its cron reaps it: a SAVE now is refused.
    admin.bgsave()
    harness.call("CreateServerlessCacheSnapshot", ServerlessCacheName="busy", ServerlessCacheSnapshotName="s1")
    harness.settle()
    (snap,) = harness.call("DescribeServerlessCacheSnapshots", ServerlessCacheName="busy")["ServerlessCacheSnapshots"]
    assert snap["Status"] == "available"
    assert int(snap["BytesUsedForCache"]) > 0
