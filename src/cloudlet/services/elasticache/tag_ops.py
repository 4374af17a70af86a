"""Tags on caches, snapshots, users and user groups, and DescribeCacheEngineVersions."""

from __future__ import annotations

import re
from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.services.elasticache import validation
from cloudlet.services.elasticache.base import ElastiCacheBase
from cloudlet.services.elasticache.engines import ENGINE_VERSIONS
from cloudlet.services.elasticache.pagination import page

_ARN = re.compile(r"^arn:aws[a-z-]*:elasticache:([a-z0-9-]+):(\d{12}):([a-z]+):(.+)$")
# Resource types cloudlet does not have: AWS's not-found fault for each.
_OTHER_FAULTS = {
    "cluster": ("CacheClusterNotFound", "Cache cluster"),
    "replicationgroup": ("ReplicationGroupNotFoundFault", "Replication group"),
    "parametergroup": ("CacheParameterGroupNotFound", "Cache parameter group"),
    "securitygroup": ("CacheSecurityGroupNotFound", "Cache security group"),
    "subnetgroup": ("CacheSubnetGroupNotFoundFault", "Cache subnet group"),
    "reserved-instance": ("ReservedCacheNodeNotFound", "Reserved cache node"),
    "snapshot": ("SnapshotNotFoundFault", "Snapshot"),
}


class TagOps(ElastiCacheBase):
    def _tagged(self, ctx: RequestContext, arn: str) -> Any:
        m = _ARN.match(arn)
        if not m:
            raise AWSError("InvalidARN", f"The ARN {arn} is not valid.")
        region, account, kind, name = m.groups()
        if account != ctx.account_id:
            raise AWSError("InvalidARN", f"The ARN {arn} does not belong to your account.")
        st = self.store.get(account, region)
        found: Any = None
        if kind == "serverlesscache":
            found = st.caches.get(name)
            fault = ("ServerlessCacheNotFoundFault", "Serverless cache")
        elif kind == "serverlesscachesnapshot":
            found = st.snapshots.get(name)
            fault = ("ServerlessCacheSnapshotNotFoundFault", "Serverless cache snapshot")
        elif kind == "user":
            found = st.users.get(name)
            fault = ("UserNotFound", "User")
        elif kind == "usergroup":
            found = st.groups.get(name)
            fault = ("UserGroupNotFound", "User group")
        elif kind in _OTHER_FAULTS:
            fault = _OTHER_FAULTS[kind]
        else:
            raise AWSError("InvalidARN", f"The ARN {arn} is not valid.")
        if found is None:
            raise AWSError(fault[0], f"{fault[1]} {name} not found.")
        if kind == "serverlesscache" and found.status == "deleting":
            raise AWSError("InvalidServerlessCacheStateFault", f"Serverless cache {name} is being deleted.")
        return found

    def add_tags_to_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        res = self._tagged(ctx, params["ResourceName"])
        res.tags = validation.tags(res.tags, params["Tags"])
        return {"TagList": validation.tag_list(res.tags)}

    def remove_tags_from_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        res = self._tagged(ctx, params["ResourceName"])
        missing = [k for k in params["TagKeys"] if k not in res.tags]
        if missing:
            raise AWSError("TagNotFound", f"Tag key(s) {', '.join(missing)} not found on the resource.")
        for k in params["TagKeys"]:
            res.tags.pop(k, None)
        return {"TagList": validation.tag_list(res.tags)}

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        res = self._tagged(ctx, params["ResourceName"])
        return {"TagList": validation.tag_list(res.tags)}

    def describe_cache_engine_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        items = list(ENGINE_VERSIONS)
        if params.get("Engine"):
            items = [v for v in items if v.engine == params["Engine"].lower()]
        if params.get("EngineVersion"):
            items = [v for v in items if v.version == params["EngineVersion"]]
        if params.get("CacheParameterGroupFamily"):
            items = [v for v in items if v.family == params["CacheParameterGroupFamily"]]
        if params.get("DefaultOnly"):
            items = [v for v in items if v.default]
        chunk, marker = page(items, params.get("Marker"), params.get("MaxRecords"), 100, 20, 100, "MaxRecords")
        out: dict[str, Any] = {"CacheEngineVersions": [v.describe() for v in chunk]}
        if marker:
            out["Marker"] = marker
        return out
