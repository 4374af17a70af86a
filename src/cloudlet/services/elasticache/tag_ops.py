"""Tags on caches, snapshots, users and user groups, and DescribeCacheEngineVersions."""

from __future__ import annotations

import re
from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.provider import operation
from cloudlet.services.elasticache import validation
from cloudlet.services.elasticache.base import RESOURCE_KINDS, ElastiCacheBase, find
from cloudlet.services.elasticache.engines import ENGINE_VERSIONS
from cloudlet.services.elasticache.pagination import paged_result

_ARN = re.compile(r"^arn:aws[a-z-]*:elasticache:([a-z0-9-]+):(\d{12}):([a-z]+):(.+)$")
# Resource types cloudlet does not have: AWS's not-found fault and noun for each.
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
        if kind in _OTHER_FAULTS:
            fault, noun = _OTHER_FAULTS[kind]
            raise AWSError(fault, f"{noun} {name} not found.")
        if kind not in RESOURCE_KINDS:
            raise AWSError("InvalidARN", f"The ARN {arn} is not valid.")
        found = find(self.store.get(account, region), kind, name)
        if kind == "serverlesscache" and found.status == "deleting":
            raise AWSError("InvalidServerlessCacheStateFault", f"Serverless cache {name} is being deleted.")
        return found

    @operation("AddTagsToResource")
    def add_tags_to_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        res = self._tagged(ctx, params["ResourceName"])
        res.tags = validation.tags(res.tags, params["Tags"])
        return {"TagList": validation.tag_list(res.tags)}

    @operation("RemoveTagsFromResource")
    def remove_tags_from_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        res = self._tagged(ctx, params["ResourceName"])
        missing = [k for k in params["TagKeys"] if k not in res.tags]
        if missing:
            raise AWSError("TagNotFound", f"Tag key(s) {', '.join(missing)} not found on the resource.")
        for k in params["TagKeys"]:
            res.tags.pop(k, None)
        return {"TagList": validation.tag_list(res.tags)}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        res = self._tagged(ctx, params["ResourceName"])
        return {"TagList": validation.tag_list(res.tags)}

    @operation("DescribeCacheEngineVersions")
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
        return paged_result(
            "CacheEngineVersions", items, lambda v: v.describe(), params, default=100, lo=20, hi=100
        )
