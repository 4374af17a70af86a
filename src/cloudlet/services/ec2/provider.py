"""Ec2Provider: the default VPC's describe calls, tags and security groups.

Internal interface for other providers (Lambda, ElastiCache):
default_vpc, subnet, security_group, subnets_of, default_security_group.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.ids import hex_id
from cloudlet.core.interfaces import FlowVerdict, Placement
from cloudlet.core.paging import offset_page
from cloudlet.core.provider import Provider, operation
from cloudlet.core.store import AccountRegionStore
from cloudlet.services.ec2 import endpoints, enis, routing, vpcs
from cloudlet.services.ec2.defaults import allow_all_egress, default_state
from cloudlet.services.ec2.filters import apply_filters, flag
from cloudlet.services.ec2.model import Ec2State, SecurityGroup, Subnet, Vpc
from cloudlet.services.ec2.reachability import check_flow, flow_end
from cloudlet.services.ec2.sg_rules import all_rule_shapes, authorize, requested_rules, revoke, revoke_by_ids
from cloudlet.services.ec2.shapes import security_group_shape, subnet_shape, tag_set, vpc_shape, zone_shape
from cloudlet.services.network_usage import function_placements, network_ids_in_use

T = TypeVar("T")
_ID = {prefix: re.compile(rf"^{prefix}-([0-9a-f]{{8}}|[0-9a-f]{{17}})$") for prefix in ("vpc", "subnet", "sg")}
# Id prefix -> AWS's (malformed code, message), (not-found code, message); {id} is the id asked for.
_MALFORMED = {
    "vpc": ("InvalidVpcID.Malformed", 'Invalid id: "{id}"'),
    "subnet": ("InvalidSubnetID.Malformed", 'Invalid id: "{id}"'),
    "sg": ("InvalidGroupId.Malformed", 'Invalid id: "{id}" (expecting "sg-...")'),
}
_NOT_FOUND = {
    "vpc": ("InvalidVpcID.NotFound", "The vpc ID '{id}' does not exist"),
    "subnet": ("InvalidSubnetID.NotFound", "The subnet ID '{id}' does not exist"),
    "sg": ("InvalidGroup.NotFound", "The security group '{id}' does not exist"),
}
_RULE_FIELDS = ("protocol", "cidr", "group-id", "from-port", "to-port")
MAX_TAGS = 50


def _rule_values(rules: list[dict[str, Any]], field: str) -> list[str]:
    out: list[str] = []
    for rule in rules:
        if field == "protocol":
            out.append(str(rule.get("IpProtocol", "")))
        elif field == "cidr":
            out += [r["CidrIp"] for r in rule.get("IpRanges", [])]
        elif field == "group-id":
            out += [p["GroupId"] for p in rule.get("UserIdGroupPairs", [])]
        elif field == "from-port" and "FromPort" in rule:
            out.append(str(rule["FromPort"]))
        elif field == "to-port" and "ToPort" in rule:
            out.append(str(rule["ToPort"]))
    return out


VPC_FILTERS: dict[str, Callable[[Vpc], Iterable[str]]] = {
    "cidr": lambda v: [v.cidr_block],
    "cidr-block-association.cidr-block": lambda v: [v.cidr_block],
    "cidr-block-association.association-id": lambda v: [v.cidr_association_id],
    "cidr-block-association.state": lambda v: ["associated"],
    "dhcp-options-id": lambda v: [v.dhcp_options_id],
    "is-default": lambda v: flag(v.is_default),
    "isDefault": lambda v: flag(v.is_default),
    "owner-id": lambda v: [v.owner_id],
    "state": lambda v: [v.state],
    "vpc-id": lambda v: [v.id],
}
SUBNET_FILTERS: dict[str, Callable[[Subnet], Iterable[str]]] = {
    "availability-zone": lambda s: [s.availability_zone],
    "availabilityZone": lambda s: [s.availability_zone],
    "availability-zone-id": lambda s: [s.availability_zone_id],
    "availabilityZoneId": lambda s: [s.availability_zone_id],
    "available-ip-address-count": lambda s: [str(s.available_ip_address_count)],
    "cidr": lambda s: [s.cidr_block],
    "cidr-block": lambda s: [s.cidr_block],
    "cidrBlock": lambda s: [s.cidr_block],
    "default-for-az": lambda s: flag(s.default_for_az),
    "defaultForAz": lambda s: flag(s.default_for_az),
    "map-public-ip-on-launch": lambda s: flag(s.map_public_ip_on_launch),
    "owner-id": lambda s: [s.owner_id],
    "state": lambda s: [s.state],
    "subnet-arn": lambda s: [s.arn],
    "subnet-id": lambda s: [s.id],
    "vpc-id": lambda s: [s.vpc_id],
}
def _rules_filter(direction: str, field: str) -> Callable[[SecurityGroup], Iterable[str]]:
    return lambda g: _rule_values(g.ingress if direction == "ingress" else g.egress, field)


SG_FILTERS: dict[str, Callable[[SecurityGroup], Iterable[str]]] = {
    "description": lambda g: [g.description],
    "group-id": lambda g: [g.id],
    "group-name": lambda g: [g.name],
    "owner-id": lambda g: [g.owner_id],
    "vpc-id": lambda g: [g.vpc_id],
    **{f"ip-permission.{f}": _rules_filter("ingress", f) for f in _RULE_FIELDS},
    **{f"egress.ip-permission.{f}": _rules_filter("egress", f) for f in _RULE_FIELDS},
}
RULE_FILTERS: dict[str, Callable[[dict[str, Any]], Iterable[str]]] = {
    "group-id": lambda r: [r["GroupId"]],
    "security-group-rule-id": lambda r: [r["SecurityGroupRuleId"]],
}
ENDPOINT_FILTERS: dict[str, Callable[[Any], Iterable[str]]] = {
    "service-name": lambda e: [e.service_name],
    "vpc-id": lambda e: [e.vpc_id],
    "vpc-endpoint-id": lambda e: [e.id],
    "vpc-endpoint-state": lambda e: [e.state],
    "vpc-endpoint-type": lambda e: [e.endpoint_type],
}
ROUTE_TABLE_FILTERS: dict[str, Callable[[Any], Iterable[str]]] = {
    "route-table-id": lambda t: [t.id],
    "vpc-id": lambda t: [t.vpc_id],
    "association.main": lambda t: flag(t.main),
    "association.subnet-id": lambda t: list(t.subnet_associations.values()),
    "association.route-table-association-id": lambda t: [*t.subnet_associations, *([t.main_association_id] if t.main
                                                                                   else [])],
}
IGW_FILTERS: dict[str, Callable[[Any], Iterable[str]]] = {
    "internet-gateway-id": lambda g: [g.id],
    "attachment.vpc-id": lambda g: [g.vpc_id] if g.vpc_id else [],
    "attachment.state": lambda g: ["available"] if g.vpc_id else [],
}
NAT_FILTERS: dict[str, Callable[[Any], Iterable[str]]] = {
    "nat-gateway-id": lambda n: [n.id],
    "state": lambda n: [n.state],
    "subnet-id": lambda n: [n.subnet_id],
    "vpc-id": lambda n: [n.vpc_id],
}
ZONE_FILTERS: dict[str, Callable[[Any], Iterable[str]]] = {
    "group-name": lambda z: [f"{z.region}-zg-1"],
    "opt-in-status": lambda z: ["opt-in-not-required"],
    "region-name": lambda z: [z.region],
    "state": lambda z: ["available"],
    "zone-id": lambda z: [z.zone_id],
    "zone-name": lambda z: [z.name],
    "zone-type": lambda z: ["availability-zone"],
}
TAG_FILTERS: dict[str, Callable[[dict[str, str]], Iterable[str]]] = {
    "key": lambda r: [r["Key"]],
    "value": lambda r: [r["Value"]],
    "resource-id": lambda r: [r["ResourceId"]],
    "resource-type": lambda r: [r["ResourceType"]],
}


def _error(table: dict[str, tuple[str, str]], prefix: str, rid: str) -> AWSError:
    code, message = table[prefix]
    return AWSError(code, message.format(id=rid), 400)


def _check_ids(ids: list[str], prefix: str) -> None:
    for rid in ids:
        if not _ID[prefix].match(rid):
            raise _error(_MALFORMED, prefix, rid)


def _not_in_default_vpc(state: Ec2State, group_name: str) -> AWSError:
    # A group name alone addresses the groups of the default VPC only.
    return AWSError("InvalidGroup.NotFound",
                    f"The security group '{group_name}' does not exist in default VPC '{state.default_vpc_id}'", 400)


def _pick(table: dict[str, T], ids: list[str], prefix: str) -> list[T]:
    """The resources with these ids (well-formed, each once, in the order asked), or all with none asked."""
    _check_ids(ids, prefix)
    if not ids:
        return list(table.values())
    missing = [i for i in ids if i not in table]
    if missing:
        raise _error(_NOT_FOUND, prefix, missing[0])
    return [table[i] for i in dict.fromkeys(ids)]


def _taggable_tables(state: Ec2State) -> tuple[tuple[str, dict[str, Any]], ...]:
    """(resource type as DescribeTags names it, the resources), for every type that takes tags."""
    return (("vpc", state.vpcs), ("subnet", state.subnets), ("security-group", state.security_groups),
            ("vpc-endpoint", state.vpc_endpoints), ("route-table", state.route_tables),
            ("internet-gateway", state.internet_gateways), ("natgateway", state.nat_gateways))


def _page(items: list[Any], params: dict[str, Any], what: str) -> tuple[list[Any], dict[str, Any]]:
    """EC2's MaxResults/NextToken paging over an already filtered, stably ordered list.

    The token is opaque to clients; it names the operation it came from so that
    a token of another call is refused as AWS refuses it."""
    limit = params.get("MaxResults")
    if limit is not None and not 5 <= int(limit) <= 1000:
        raise AWSError("InvalidParameterValue",
                       f"Value ( {limit} ) for parameter maxResults is invalid. "
                       "Parameter must be between 5 and 1000.", 400)
    page, token = offset_page(
        items, params.get("NextToken"), None if limit is None else int(limit), what,
        lambda t: AWSError("InvalidParameterValue", f"Invalid value '{t}' for nextToken.", 400),
    )
    return page, ({"NextToken": token} if token else {})


class Ec2Provider(Provider):
    service = "ec2"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self.store: AccountRegionStore[Ec2State] = AccountRegionStore(default_state)

    # -- lookups for other providers ---------------------------------------------------
    def state(self, account_id: str, region: str) -> Ec2State:
        return self.store.get(account_id, region)

    def default_vpc(self, account_id: str, region: str) -> Vpc:
        state = self.state(account_id, region)
        return state.vpcs[state.default_vpc_id]

    def subnet(self, account_id: str, region: str, subnet_id: str) -> Subnet | None:
        return self.state(account_id, region).subnets.get(subnet_id)

    def security_group(self, account_id: str, region: str, group_id: str) -> SecurityGroup | None:
        return self.state(account_id, region).security_groups.get(group_id)

    def subnets_of(self, account_id: str, region: str, vpc_id: str) -> list[Subnet]:
        return [s for s in self.state(account_id, region).subnets.values() if s.vpc_id == vpc_id]

    def default_security_group(self, account_id: str, region: str, vpc_id: str) -> SecurityGroup:
        groups = self.state(account_id, region).security_groups.values()
        return next(g for g in groups if g.vpc_id == vpc_id and g.name == "default")

    def check_flow(self, account_id: str, region: str, source: Placement, destination: Placement,
                   port: int) -> FlowVerdict:
        """May source open a TCP connection to destination on port (security groups, same VPC)?"""
        state = self.state(account_id, region)
        src = flow_end(state, source.subnet_ids, source.group_ids, source.owner)
        dst = flow_end(state, destination.subnet_ids, destination.group_ids, destination.owner)
        if src is None or dst is None:
            return FlowVerdict(src.address if src else "", "a subnet of the interface no longer exists")
        return FlowVerdict(src.address, check_flow(state, src, dst, port))

    def check_api_flow(self, account_id: str, region: str, source: Placement, service: str) -> FlowVerdict:
        state = self.state(account_id, region)
        src = flow_end(state, source.subnet_ids, source.group_ids, source.owner)
        if src is None:
            return FlowVerdict("", "a subnet of the interface no longer exists")
        return FlowVerdict(src.address, endpoints.api_denial(state, src, service, region))

    # -- describe calls -------------------------------------------------------------------
    @staticmethod
    def _dry_run(params: dict[str, Any]) -> None:
        if params.get("DryRun"):
            raise AWSError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)

    @operation("DescribeVpcs")
    def describe_vpcs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        vpcs = _pick(state.vpcs, params.get("VpcIds") or [], "vpc")
        page, extra = _page(apply_filters(vpcs, params.get("Filters"), VPC_FILTERS), params, "vpcs")
        return {"Vpcs": [vpc_shape(v) for v in page], **extra}

    @operation("DescribeSubnets")
    def describe_subnets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        subnets = _pick(state.subnets, params.get("SubnetIds") or [], "subnet")
        found = apply_filters(subnets, params.get("Filters"), SUBNET_FILTERS)
        page, extra = _page(found, params, "subnets")
        return {"Subnets": [subnet_shape(s) for s in page], **extra}

    @operation("DescribeSecurityGroups")
    def describe_security_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        if params.get("MaxResults") is not None and params.get("GroupIds"):
            raise AWSError("InvalidParameterCombination",
                           "The parameter groupIds cannot be used with the parameter maxResults", 400)
        groups = _pick(state.security_groups, params.get("GroupIds") or [], "sg")
        names = params.get("GroupNames") or []
        if names:
            in_default = {g.name: g for g in groups if g.vpc_id == state.default_vpc_id}
            for name in names:
                if name not in in_default:
                    raise _not_in_default_vpc(state, name)
            groups = [in_default[n] for n in dict.fromkeys(names)]
        found = apply_filters(groups, params.get("Filters"), SG_FILTERS)
        page, extra = _page(found, params, "security-groups")
        return {"SecurityGroups": [security_group_shape(g) for g in page], **extra}

    @operation("DescribeAvailabilityZones")
    def describe_availability_zones(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        zones = self.state(ctx.account_id, ctx.region).zones
        for key, attr in (("ZoneNames", "name"), ("ZoneIds", "zone_id")):
            wanted = params.get(key) or []
            if wanted:
                known = {getattr(z, attr) for z in zones}
                bad = [w for w in wanted if w not in known]
                if bad:
                    raise AWSError("InvalidParameterValue", f"Invalid availability zone: [{bad[0]}]", 400)
                zones = [z for z in zones if getattr(z, attr) in wanted]
        found = apply_filters(zones, params.get("Filters"), ZONE_FILTERS)
        return {"AvailabilityZones": [zone_shape(z) for z in found]}

    @operation("DescribeAccountAttributes")
    def describe_account_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        attrs = {
            "supported-platforms": ["VPC"],
            "vpc-max-security-groups-per-interface": ["5"],
            "max-elastic-ips": ["5"],
            "max-instances": ["20"],
            "vpc-max-elastic-ips": ["5"],
            "default-vpc": [self.default_vpc(ctx.account_id, ctx.region).id],
        }
        names = params.get("AttributeNames") or list(attrs)
        unknown = [n for n in names if n not in attrs]
        if unknown:
            raise AWSError("InvalidParameterValue", f"Value ({unknown[0]}) for parameter attributeName is invalid.", 400)
        return {"AccountAttributes": [
            {"AttributeName": n, "AttributeValues": [{"AttributeValue": v} for v in attrs[n]]} for n in names
        ]}

    # -- tags -------------------------------------------------------------------------------
    def _taggable(self, state: Ec2State, resource_id: str) -> Any:
        for _kind, table in _taggable_tables(state):
            if resource_id in table:
                return table[resource_id]
        prefix = resource_id.split("-", 1)[0]
        if prefix in _NOT_FOUND:
            raise _error(_NOT_FOUND, prefix, resource_id)
        raise AWSError("InvalidID", f"The ID '{resource_id}' is not valid", 400)

    @operation("CreateTags")
    def create_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        targets = [self._taggable(state, rid) for rid in params["Resources"]]
        for target in targets:
            merged = dict(target.tags)
            for tag in params.get("Tags") or []:
                merged[str(tag["Key"])] = str(tag.get("Value", ""))
            if len(merged) > MAX_TAGS:
                raise AWSError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.", 400)
            target.tags = merged
        return {}

    @operation("DeleteTags")
    def delete_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        targets = [self._taggable(state, rid) for rid in params["Resources"]]
        for target in targets:
            for tag in params.get("Tags") or [{"Key": k} for k in list(target.tags)]:
                key = str(tag["Key"])
                # A given Value deletes the tag only when it matches.
                if key in target.tags and ("Value" not in tag or target.tags[key] == tag["Value"]):
                    del target.tags[key]
        return {}

    @operation("DescribeTags")
    def describe_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        rows = [
            {"Key": k, "ResourceId": rid, "ResourceType": kind, "Value": v}
            for kind, table in _taggable_tables(state)
            for rid, resource in table.items()
            for k, v in resource.tags.items()
        ]
        page, extra = _page(apply_filters(rows, params.get("Filters"), TAG_FILTERS), params, "tags")
        return {"Tags": page, **extra}

    # -- security groups -----------------------------------------------------------------
    @operation("CreateSecurityGroup")
    def create_security_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        vpc_id = params.get("VpcId") or state.default_vpc_id
        if vpc_id not in state.vpcs:
            raise _error(_NOT_FOUND, "vpc", vpc_id)
        name = params["GroupName"]
        if name == "default":
            raise AWSError("InvalidParameterValue",
                           "Invalid value 'default' for groupName. You may not use 'default' as a group name.", 400)
        if any(g.vpc_id == vpc_id and g.name == name for g in state.security_groups.values()):
            raise AWSError("InvalidGroup.Duplicate",
                           f"The security group '{name}' already exists for VPC '{vpc_id}'", 400)
        group_id = hex_id("sg")
        tags = {str(t["Key"]): str(t.get("Value", ""))
                for spec in params.get("TagSpecifications") or [] for t in spec.get("Tags") or []}
        group = SecurityGroup(
            id=group_id, vpc_id=vpc_id, name=name, description=params["Description"],
            owner_id=ctx.account_id, region=ctx.region, tags=tags, egress=allow_all_egress(),
        )
        state.security_groups[group_id] = group
        return {"GroupId": group_id, "SecurityGroupArn": group.arn, **tag_set(tags)}

    @operation("DeleteSecurityGroup")
    def delete_security_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        group: SecurityGroup | None = None
        if params.get("GroupId"):
            group = _pick(state.security_groups, [params["GroupId"]], "sg")[0]
        elif params.get("GroupName"):
            name = params["GroupName"]
            group = next((g for g in state.security_groups.values()
                          if g.name == name and g.vpc_id == state.default_vpc_id), None)
            if group is None:
                raise _not_in_default_vpc(state, name)
        else:
            raise AWSError("MissingParameter", "The request must contain the parameter groupName or groupId", 400)
        if group.name == "default":
            raise AWSError("CannotDelete", f"the specified group: \"{group.id}\" name: \"default\" cannot "
                           "be deleted by a user", 400)
        referenced = any(pair.get("GroupId") == group.id
                         for other in state.security_groups.values() if other.id != group.id
                         for perm in (*other.ingress, *other.egress) for pair in perm.get("UserIdGroupPairs") or [])
        if (referenced or group.id in network_ids_in_use(self.world, ctx.account_id, ctx.region)
                or any(group.id in e.group_ids for e in state.vpc_endpoints.values())):
            raise AWSError("DependencyViolation", f"resource {group.id} has a dependent object", 400)
        del state.security_groups[group.id]
        return {"Return": True, "GroupId": group.id}

    # -- security group rules ------------------------------------------------------------
    def _rule_target(self, state: Ec2State, params: dict[str, Any], egress: bool) -> SecurityGroup:
        if params.get("GroupId"):
            return _pick(state.security_groups, [params["GroupId"]], "sg")[0]
        if params.get("GroupName") and not egress:
            name = params["GroupName"]
            group = next((g for g in state.security_groups.values()
                          if g.name == name and g.vpc_id == state.default_vpc_id), None)
            if group is None:
                raise _not_in_default_vpc(state, name)
            return group
        raise AWSError("MissingParameter", "The request must contain the parameter groupId", 400)

    def _authorize(self, ctx: RequestContext, params: dict[str, Any], egress: bool) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        group = self._rule_target(state, params, egress)
        rules = authorize(group, egress, requested_rules(state, group, params))
        return {"Return": True, "SecurityGroupRules": rules}

    def _revoke(self, ctx: RequestContext, params: dict[str, Any], egress: bool) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        group = self._rule_target(state, params, egress)
        if params.get("SecurityGroupRuleIds"):
            return revoke_by_ids(group, egress, list(params["SecurityGroupRuleIds"]))
        in_default = state.vpcs[group.vpc_id].is_default if group.vpc_id in state.vpcs else False
        return revoke(group, egress, requested_rules(state, group, params), in_default)

    @operation("AuthorizeSecurityGroupIngress")
    def authorize_security_group_ingress(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._authorize(ctx, params, egress=False)

    @operation("AuthorizeSecurityGroupEgress")
    def authorize_security_group_egress(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._authorize(ctx, params, egress=True)

    @operation("RevokeSecurityGroupIngress")
    def revoke_security_group_ingress(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._revoke(ctx, params, egress=False)

    @operation("RevokeSecurityGroupEgress")
    def revoke_security_group_egress(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._revoke(ctx, params, egress=True)

    @operation("DescribeSecurityGroupRules")
    def describe_security_group_rules(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        rules = [r for g in state.security_groups.values() for r in all_rule_shapes(g)]
        wanted = params.get("SecurityGroupRuleIds") or []
        if wanted:
            known = {r["SecurityGroupRuleId"] for r in rules}
            missing = [w for w in wanted if w not in known]
            if missing:
                raise AWSError("InvalidSecurityGroupRuleId.NotFound",
                               f"The security group rule ID '{missing[0]}' does not exist", 400)
            rules = [r for r in rules if r["SecurityGroupRuleId"] in wanted]
        found = apply_filters(rules, params.get("Filters"), RULE_FILTERS)
        page, extra = _page(found, params, "security-group-rules")
        return {"SecurityGroupRules": page, **extra}

    # -- VPC endpoints ---------------------------------------------------------------------
    @operation("CreateVpcEndpoint")
    def create_vpc_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        endpoint = endpoints.create(state, params, ctx.account_id, ctx.region)
        out = {"VpcEndpoint": endpoints.shape(endpoint, state, pending=True)}
        if params.get("ClientToken"):
            out["ClientToken"] = params["ClientToken"]
        return out

    @operation("DescribeVpcEndpoints")
    def describe_vpc_endpoints(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        wanted = params.get("VpcEndpointIds") or []
        missing = [w for w in wanted if w not in state.vpc_endpoints]
        if missing:
            raise AWSError("InvalidVpcEndpointId.NotFound", f"The VpcEndpoint Id '{missing[0]}' does not exist", 400)
        found = [state.vpc_endpoints[w] for w in dict.fromkeys(wanted)] if wanted else list(state.vpc_endpoints.values())
        page, extra = _page(apply_filters(found, params.get("Filters"), ENDPOINT_FILTERS), params, "vpc-endpoints")
        return {"VpcEndpoints": [endpoints.shape(e, state) for e in page], **extra}

    @operation("DeleteVpcEndpoints")
    def delete_vpc_endpoints(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        return {"Unsuccessful": endpoints.delete(state, list(params["VpcEndpointIds"]))}

    # -- VPCs and subnets --------------------------------------------------------------------
    @operation("CreateVpc")
    def create_vpc(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        vpc = vpcs.create_vpc(self.state(ctx.account_id, ctx.region), params, ctx.account_id, ctx.region)
        return {"Vpc": {**vpc_shape(vpc), "State": "pending"}}

    @operation("DeleteVpc")
    def delete_vpc(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        _check_ids([params["VpcId"]], "vpc")
        vpcs.delete_vpc(self.state(ctx.account_id, ctx.region), params["VpcId"])
        return {}

    @operation("CreateSubnet")
    def create_subnet(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        _check_ids([params["VpcId"]], "vpc")
        subnet = vpcs.create_subnet(self.state(ctx.account_id, ctx.region), params, ctx.account_id, ctx.region)
        return {"Subnet": subnet_shape(subnet)}

    @operation("DeleteSubnet")
    def delete_subnet(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        _check_ids([params["SubnetId"]], "subnet")
        used = network_ids_in_use(self.world, ctx.account_id, ctx.region)
        vpcs.delete_subnet(self.state(ctx.account_id, ctx.region), params["SubnetId"], used)
        self.store.changed(ctx.account_id, ctx.region, "route_tables")  # its associations went with it
        return {}

    # -- network interfaces (functions' ENIs) ----------------------------------------------
    def _enis(self, account_id: str, region: str) -> list[enis.Eni]:
        state = self.state(account_id, region)
        return [eni for acct, reg, name, subnets, groups in function_placements(self.world)
                if (acct, reg) == (account_id, region)
                for eni in enis.function_enis(state, account_id, region, name, subnets, groups)]

    @operation("DescribeNetworkInterfaces")
    def describe_network_interfaces(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        found = self._enis(ctx.account_id, ctx.region)
        wanted = params.get("NetworkInterfaceIds") or []
        if wanted:
            known = {e.id: e for e in found}
            missing = [w for w in wanted if w not in known]
            if missing:
                raise AWSError("InvalidNetworkInterfaceID.NotFound",
                               f"The networkInterface ID '{missing[0]}' does not exist", 400)
            found = [known[w] for w in dict.fromkeys(wanted)]
        page, extra = _page(apply_filters(found, params.get("Filters"), enis.ENI_FILTERS), params,
                            "network-interfaces")
        return {"NetworkInterfaces": [enis.eni_shape(e, state) for e in page], **extra}

    def status_lines(self) -> list[str]:
        """Each function's ENIs: `ec2 ACCOUNT REGION eni-... lambda FUNCTION ADDRESS SUBNET`."""
        accounts = {(acct, reg) for acct, reg, *_ in function_placements(self.world)}
        return [f"ec2 {acct} {reg} {e.id} lambda {e.function} {e.address} {e.subnet_id}"
                for acct, reg in sorted(accounts) for e in self._enis(acct, reg)]

    # -- route tables, internet gateways, Elastic IPs, NAT gateways ------------------------------
    @operation("CreateRouteTable")
    def create_route_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        table = routing.create_route_table(state, params, ctx.account_id)
        return {"RouteTable": routing.route_table_shape(table, state)}

    @operation("DeleteRouteTable")
    def delete_route_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        routing.delete_route_table(self.state(ctx.account_id, ctx.region), params["RouteTableId"])
        return {}

    @operation("AssociateRouteTable")
    def associate_route_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        if not params.get("SubnetId"):
            raise AWSError("MissingParameter", "The request must contain the parameter subnetId", 400)
        assoc = routing.associate(self.state(ctx.account_id, ctx.region), params["RouteTableId"], params["SubnetId"])
        return {"AssociationId": assoc, "AssociationState": {"State": "associated"}}

    @operation("DisassociateRouteTable")
    def disassociate_route_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        routing.disassociate(self.state(ctx.account_id, ctx.region), params["AssociationId"])
        self.store.changed(ctx.account_id, ctx.region, "route_tables")  # the request names the association only
        return {}

    @operation("CreateRoute")
    def create_route(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        routing.create_route(self.state(ctx.account_id, ctx.region), params)
        return {"Return": True}

    @operation("DeleteRoute")
    def delete_route(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        routing.delete_route(self.state(ctx.account_id, ctx.region), params)
        return {}

    @operation("DescribeRouteTables")
    def describe_route_tables(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        wanted = params.get("RouteTableIds") or []
        missing = [w for w in wanted if w not in state.route_tables]
        if missing:
            raise AWSError("InvalidRouteTableID.NotFound", f"The routeTable ID '{missing[0]}' does not exist", 400)
        tables = [state.route_tables[w] for w in dict.fromkeys(wanted)] if wanted else list(state.route_tables.values())
        page, extra = _page(apply_filters(tables, params.get("Filters"), ROUTE_TABLE_FILTERS), params, "route-tables")
        return {"RouteTables": [routing.route_table_shape(t, state) for t in page], **extra}

    @operation("CreateInternetGateway")
    def create_internet_gateway(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        igw = routing.create_igw(self.state(ctx.account_id, ctx.region), params, ctx.account_id)
        return {"InternetGateway": routing.igw_shape(igw)}

    @operation("AttachInternetGateway")
    def attach_internet_gateway(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        routing.attach_igw(self.state(ctx.account_id, ctx.region), params["InternetGatewayId"], params["VpcId"])
        return {}

    @operation("DetachInternetGateway")
    def detach_internet_gateway(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        routing.detach_igw(self.state(ctx.account_id, ctx.region), params["InternetGatewayId"], params["VpcId"])
        return {}

    @operation("DeleteInternetGateway")
    def delete_internet_gateway(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        routing.delete_igw(self.state(ctx.account_id, ctx.region), params["InternetGatewayId"])
        return {}

    @operation("DescribeInternetGateways")
    def describe_internet_gateways(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        wanted = params.get("InternetGatewayIds") or []
        missing = [w for w in wanted if w not in state.internet_gateways]
        if missing:
            raise AWSError("InvalidInternetGatewayID.NotFound",
                           f"The internetGateway ID '{missing[0]}' does not exist", 400)
        igws = [state.internet_gateways[w] for w in dict.fromkeys(wanted)] if wanted \
            else list(state.internet_gateways.values())
        page, extra = _page(apply_filters(igws, params.get("Filters"), IGW_FILTERS), params, "internet-gateways")
        return {"InternetGateways": [routing.igw_shape(g) for g in page], **extra}

    @operation("AllocateAddress")
    def allocate_address(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        address = routing.allocate_address(self.state(ctx.account_id, ctx.region), params)
        return {"AllocationId": address.allocation_id, "PublicIp": address.public_ip, "Domain": "vpc",
                "PublicIpv4Pool": "amazon", "NetworkBorderGroup": ctx.region}

    @operation("ReleaseAddress")
    def release_address(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        if not params.get("AllocationId"):
            raise AWSError("MissingParameter", "The request must contain the parameter AllocationId", 400)
        routing.release_address(self.state(ctx.account_id, ctx.region), params["AllocationId"])
        return {}

    @operation("CreateNatGateway")
    def create_nat_gateway(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        nat = routing.create_nat(self.state(ctx.account_id, ctx.region), params)
        out: dict[str, Any] = {"NatGateway": routing.nat_shape(nat, pending=True)}
        if params.get("ClientToken"):
            out["ClientToken"] = params["ClientToken"]
        return out

    @operation("DeleteNatGateway")
    def delete_nat_gateway(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        routing.delete_nat(self.state(ctx.account_id, ctx.region), params["NatGatewayId"])
        self.store.changed(ctx.account_id, ctx.region, "addresses")  # its Elastic IP is free again
        return {"NatGatewayId": params["NatGatewayId"]}

    @operation("DescribeNatGateways")
    def describe_nat_gateways(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._dry_run(params)
        state = self.state(ctx.account_id, ctx.region)
        wanted = params.get("NatGatewayIds") or []
        missing = [w for w in wanted if w not in state.nat_gateways]
        if missing:
            raise AWSError("NatGatewayNotFound", f"NAT gateway {missing[0]} was not found", 400)
        nats = [state.nat_gateways[w] for w in dict.fromkeys(wanted)] if wanted else list(state.nat_gateways.values())
        page, extra = _page(apply_filters(nats, params.get("Filter"), NAT_FILTERS), params, "nat-gateways")
        return {"NatGateways": [routing.nat_shape(n) for n in page], **extra}
