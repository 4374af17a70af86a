"""Snapshots are valkey RDB files; restore starts a new cache's valkey from one."""

from __future__ import annotations

import pytest
from ec_harness import Harness, harness  # noqa: F401  (fixture)

from cloudlet.core.errors import AWSError


def _err(h: Harness, op: str, **params) -> str:
    with pytest.raises(AWSError) as e:
        h.call(op, **params)
    return e.value.code


def test_snapshot_copy_restore_delete(harness: Harness) -> None:
    harness.call("CreateServerlessCache", ServerlessCacheName="src", Engine="valkey")
    assert _err(harness, "CreateServerlessCacheSnapshot", ServerlessCacheName="src",
                ServerlessCacheSnapshotName="early") == "InvalidServerlessCacheStateFault"
    harness.wait_status("src", "available")
    harness.as_user("src", "default").set("persisted", "42")
    snap = harness.call("CreateServerlessCacheSnapshot", ServerlessCacheName="src",
                        ServerlessCacheSnapshotName="Snap-1")["ServerlessCacheSnapshot"]
    assert snap["Status"] == "creating" and snap["ServerlessCacheSnapshotName"] == "snap-1"
    assert snap["ARN"] == "arn:aws:elasticache:us-east-1:123456789012:serverlesscachesnapshot:snap-1"
    assert snap["ServerlessCacheConfiguration"] == {"ServerlessCacheName": "src", "Engine": "valkey",
                                                    "MajorEngineVersion": "8"}
    assert _err(harness, "CreateServerlessCacheSnapshot", ServerlessCacheName="src",
                ServerlessCacheSnapshotName="snap-1") == "ServerlessCacheSnapshotAlreadyExistsFault"
    harness.settle()
    desc = harness.call("DescribeServerlessCacheSnapshots", ServerlessCacheName="src")["ServerlessCacheSnapshots"]
    assert [(s["ServerlessCacheSnapshotName"], s["Status"]) for s in desc] == [("snap-1", "available")]
    assert int(desc[0]["BytesUsedForCache"]) > 0
    st = harness.provider.store.get("123456789012", "us-east-1")
    assert st.snapshots["snap-1"].path.read_bytes().startswith(b"REDIS")

    copy = harness.call("CopyServerlessCacheSnapshot", SourceServerlessCacheSnapshotName="snap-1",
                        TargetServerlessCacheSnapshotName="snap-2")["ServerlessCacheSnapshot"]
    assert copy["Status"] == "creating"
    harness.settle()
    restored = harness.call("CreateServerlessCache", ServerlessCacheName="restored", Engine="valkey",
                            SnapshotArnsToRestore=[copy["ARN"]])
    assert restored["ServerlessCache"]["Status"] == "creating"
    harness.wait_status("restored", "available")
    assert harness.as_user("restored", "default").get("persisted") == "42"

    assert _err(harness, "CreateServerlessCache", ServerlessCacheName="r2", Engine="valkey",
                SnapshotArnsToRestore=[copy["ARN"] + "x"]) == "InvalidParameterValue"
    assert _err(harness, "DeleteServerlessCacheSnapshot", ServerlessCacheSnapshotName="ghost") == \
        "ServerlessCacheSnapshotNotFoundFault"
    assert harness.call("DeleteServerlessCacheSnapshot",
                        ServerlessCacheSnapshotName="snap-2")["ServerlessCacheSnapshot"]["Status"] == "deleting"
    harness.settle()
    names = [s["ServerlessCacheSnapshotName"] for s in
             harness.call("DescribeServerlessCacheSnapshots")["ServerlessCacheSnapshots"]]
    assert names == ["snap-1"]
    assert _err(harness, "DescribeServerlessCacheSnapshots", ServerlessCacheSnapshotName="snap-2") == \
        "ServerlessCacheSnapshotNotFoundFault"
    # Snapshot tags.
    arn = st.snapshots["snap-1"].arn
    harness.call("AddTagsToResource", ResourceName=arn, Tags=[{"Key": "t", "Value": "v"}])
    assert harness.call("ListTagsForResource", ResourceName=arn)["TagList"] == [{"Key": "t", "Value": "v"}]


def test_final_snapshot_on_delete(harness: Harness) -> None:
    harness.call("CreateServerlessCache", ServerlessCacheName="fin", Engine="valkey")
    harness.wait_status("fin", "available")
    harness.as_user("fin", "default").set("last", "words")
    harness.call("CreateServerlessCacheSnapshot", ServerlessCacheName="fin", ServerlessCacheSnapshotName="taken")
    harness.settle()
    assert _err(harness, "DeleteServerlessCache", ServerlessCacheName="fin",
                FinalSnapshotName="taken") == "ServerlessCacheSnapshotAlreadyExistsFault"
    harness.call("DeleteServerlessCache", ServerlessCacheName="fin", FinalSnapshotName="final")
    harness.wait_status("fin", None)
    harness.settle()
    final = harness.call("DescribeServerlessCacheSnapshots",
                         ServerlessCacheSnapshotName="final")["ServerlessCacheSnapshots"][0]
    assert final["Status"] == "available"
    harness.call("CreateServerlessCache", ServerlessCacheName="back", Engine="valkey",
                 SnapshotArnsToRestore=[final["ARN"]])
    harness.wait_status("back", "available")
    assert harness.as_user("back", "default").get("last") == "words"
