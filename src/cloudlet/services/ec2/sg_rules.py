"""Security group rules: one rule per peer, read from a request, matched, shown as AWS shows them.

A group keeps its rules in IpPermission form with one peer each (a CIDR block or
a group reference); DescribeSecurityGroups shows the rules of one protocol and
port range merged into one IpPermission, as AWS does. A rule's id
(`sgr-...`) is assigned when it is authorized and kept in the group.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from cloudlet.core.errors import AWSError
from cloudlet.core.ids import hex_id
from cloudlet.services.ec2.defaults import stable_id
from cloudlet.services.ec2.model import Ec2State, SecurityGroup

_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
              "-1": "-1", "all": "-1", "icmpv6": "icmpv6", "58": "icmpv6"}


@dataclasses.dataclass(frozen=True)
class Rule:
    """One rule: protocol, ports (None for all), and one peer."""

    protocol: str
    from_port: int | None
    to_port: int | None
    cidr: str = ""
    group_id: str = ""
    description: str = ""

    @property
    def key(self) -> tuple[str, int | None, int | None, str, str]:
        """What makes two rules the same rule (the description does not)."""
        return (self.protocol, self.from_port, self.to_port, self.cidr, self.group_id)

    def permission(self, account_id: str) -> dict[str, Any]:
        """The rule as a one-peer IpPermission (the form groups keep)."""
        out: dict[str, Any] = {"IpProtocol": self.protocol}
        if self.from_port is not None:
            out["FromPort"], out["ToPort"] = self.from_port, self.to_port
        described = {"Description": self.description} if self.description else {}
        out["IpRanges"] = [{"CidrIp": self.cidr, **described}] if self.cidr else []
        out["Ipv6Ranges"], out["PrefixListIds"] = [], []
        out["UserIdGroupPairs"] = [{"UserId": account_id, "GroupId": self.group_id, **described}] \
            if self.group_id else []
        return out

    def wording(self) -> str:
        """How AWS names the rule in InvalidPermission.Duplicate."""
        peer = self.cidr or self.group_id
        if self.protocol == "-1":
            return f"peer: {peer}, ALL, ALLOW"
        return f"peer: {peer}, {self.protocol.upper()}, from port: {self.from_port}, to port: {self.to_port}, ALLOW"


def rules_of(permissions: list[dict[str, Any]]) -> list[Rule]:
    """The one-peer rules of a list of IpPermissions (a group's, or a request's already checked)."""
    out: list[Rule] = []
    for perm in permissions:
        protocol = str(perm.get("IpProtocol", "-1"))
        low, high = perm.get("FromPort"), perm.get("ToPort")
        if protocol == "-1":
            low = high = None
        for block in perm.get("IpRanges") or []:
            out.append(Rule(protocol, low, high, cidr=str(block["CidrIp"]), description=block.get("Description", "")))
        for pair in perm.get("UserIdGroupPairs") or []:
            out.append(Rule(protocol, low, high, group_id=str(pair.get("GroupId", "")),
                            description=pair.get("Description", "")))
    return out


def _invalid(message: str) -> AWSError:
    return AWSError("InvalidParameterValue", message, 400)


def _group_by_name(state: Ec2State, name: str, vpc_id: str) -> str:
    for group in state.security_groups.values():
        if group.name == name and group.vpc_id == vpc_id:
            return group.id
    raise AWSError("InvalidGroup.NotFound", f"The security group '{name}' does not exist", 400)


def requested_rules(state: Ec2State, group: SecurityGroup, params: dict[str, Any]) -> list[Rule]:
    """The rules an Authorize/Revoke request names, checked as AWS checks them."""
    permissions = list(params.get("IpPermissions") or [])
    flat = {k: params[k] for k in ("IpProtocol", "FromPort", "ToPort", "CidrIp") if k in params}
    if params.get("SourceSecurityGroupName"):
        source = _group_by_name(state, params["SourceSecurityGroupName"], group.vpc_id)
        permissions.append({"IpProtocol": params.get("IpProtocol", "-1"), "UserIdGroupPairs": [{"GroupId": source}],
                            **{k: v for k, v in flat.items() if k in ("FromPort", "ToPort")}})
    elif flat:
        if permissions:
            raise AWSError("InvalidParameterCombination",
                           "The parameter 'ipPermissions' may not be used in combination with 'ipProtocol'", 400)
        permissions.append({"IpProtocol": flat.get("IpProtocol", "-1"),
                            "IpRanges": [{"CidrIp": flat["CidrIp"]}] if "CidrIp" in flat else [],
                            **{k: v for k, v in flat.items() if k in ("FromPort", "ToPort")}})
    if not permissions:
        raise AWSError("MissingParameter", "The request must contain the parameter ipPermissions", 400)
    rules: list[Rule] = []
    for perm in permissions:
        raw = str(perm.get("IpProtocol", "")).lower()
        protocol = _PROTOCOLS.get(raw, raw if raw.isdigit() and 0 <= int(raw) <= 255 else "")
        if not protocol:
            raise _invalid(f"Invalid value '{perm.get('IpProtocol')}' for IP protocol. Unknown protocol.")
        low, high = perm.get("FromPort"), perm.get("ToPort")
        if protocol in ("tcp", "udp"):
            if low is None or high is None:
                raise _invalid("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.")
            if not (-1 <= int(low) <= 65535 and -1 <= int(high) <= 65535) or int(low) > int(high):
                raise _invalid(f"Invalid {protocol.upper()} port range: from {low} to {high}")
        low, high = (None, None) if protocol == "-1" else (int(low), int(high)) if low is not None \
            and high is not None else (low, high)
        pairs = perm.get("UserIdGroupPairs") or []
        blocks = perm.get("IpRanges") or []
        if not pairs and not blocks and not perm.get("Ipv6Ranges") and not perm.get("PrefixListIds"):
            raise AWSError("MissingParameter", "Either a CIDR block or a source security group must be specified",
                           400)
        if perm.get("Ipv6Ranges") or perm.get("PrefixListIds"):
            raise _invalid("IPv6 ranges and prefix lists are not supported by cloudlet's VPCs")
        for block in blocks:
            cidr = str(block.get("CidrIp", ""))
            try:
                network = ipaddress.IPv4Network(cidr, strict=False)
            except ValueError:
                raise _invalid(f"CIDR block {cidr} is malformed") from None
            rules.append(Rule(protocol, low, high, cidr=str(network), description=block.get("Description", "")))
        for pair in pairs:
            gid = pair.get("GroupId") or (
                _group_by_name(state, pair["GroupName"], group.vpc_id) if pair.get("GroupName") else "")
            if not gid:
                raise AWSError("MissingParameter", "The request must contain the parameter groupId", 400)
            peer = state.security_groups.get(gid)
            if peer is None:
                raise AWSError("InvalidGroup.NotFound", f"The security group '{gid}' does not exist", 400)
            if peer.vpc_id != group.vpc_id:
                raise _invalid(f"You have specified two resources that belong to different networks: "
                               f"{group.id}, {gid}")
            rules.append(Rule(protocol, low, high, group_id=gid, description=pair.get("Description", "")))
    return rules


def rule_id(group: SecurityGroup, egress: bool, rule: Rule) -> str:
    """The id of a rule of group: the one given when it was authorized, or a stable one for the
    rules a group was created with."""
    slot = _slot(egress, rule)
    return group.rule_ids.get(slot) or stable_id("sgr", group.owner_id, group.region, f"{group.id}/{slot}")


def _slot(egress: bool, rule: Rule) -> str:
    return f"{'egress' if egress else 'ingress'}|{'|'.join(str(part) for part in rule.key)}"


def authorize(group: SecurityGroup, egress: bool, rules: list[Rule]) -> list[dict[str, Any]]:
    """Adds the rules (all or none: a rule that exists is refused); returns their SecurityGroupRule shapes."""
    existing = {r.key for r in rules_of(group.egress if egress else group.ingress)}
    seen: set[tuple[Any, ...]] = set()
    for rule in rules:
        if rule.key in existing or rule.key in seen:
            raise AWSError("InvalidPermission.Duplicate", f'the specified rule "{rule.wording()}" already exists', 400)
        seen.add(rule.key)
    target = group.egress if egress else group.ingress
    out = []
    for rule in rules:
        target.append(rule.permission(group.owner_id))
        group.rule_ids[_slot(egress, rule)] = hex_id("sgr")
        out.append(rule_shape(group, egress, rule))
    return out


def revoke(group: SecurityGroup, egress: bool, rules: list[Rule], default_vpc: bool) -> dict[str, Any]:
    """Removes the rules. Unknown ones are listed (default VPC) or refuse the whole request."""
    target = group.egress if egress else group.ingress
    present = {r.key for r in rules_of(target)}
    unknown = [r for r in rules if r.key not in present]
    if unknown and not default_vpc:
        raise AWSError("InvalidPermission.NotFound", "The specified rule does not exist in this security group.", 400)
    gone = {r.key for r in rules if r.key in present}
    revoked = [r for r in rules if r.key in gone]
    kept = [r for r in rules_of(target) if r.key not in gone]
    shapes = [_revoked_shape(group, egress, r) for r in revoked]
    for rule in revoked:
        group.rule_ids.pop(_slot(egress, rule), None)
    target[:] = [r.permission(group.owner_id) for r in kept]
    out: dict[str, Any] = {"Return": True}
    if unknown:
        out["UnknownIpPermissions"] = [r.permission(group.owner_id) for r in unknown]
    if shapes:
        out["RevokedSecurityGroupRules"] = shapes
    return out


def revoke_by_ids(group: SecurityGroup, egress: bool, ids: list[str]) -> dict[str, Any]:
    target = group.egress if egress else group.ingress
    by_id = {rule_id(group, egress, r): r for r in rules_of(target)}
    for rid in ids:
        if rid not in by_id:
            raise AWSError("InvalidSecurityGroupRuleId.NotFound",
                           f"The security group rule ID '{rid}' does not exist", 400)
    return revoke(group, egress, [by_id[i] for i in ids], default_vpc=True)


def _revoked_shape(group: SecurityGroup, egress: bool, rule: Rule) -> dict[str, Any]:
    shape = rule_shape(group, egress, rule)
    out: dict[str, Any] = {k: shape[k] for k in ("SecurityGroupRuleId", "GroupId", "IsEgress", "IpProtocol")}
    for key in ("FromPort", "ToPort", "CidrIpv4", "Description"):
        if key in shape:
            out[key] = shape[key]
    if rule.group_id:
        out["ReferencedGroupId"] = rule.group_id
    return out


def rule_shape(group: SecurityGroup, egress: bool, rule: Rule) -> dict[str, Any]:
    """A rule as DescribeSecurityGroupRules and Authorize* answer it."""
    rid = rule_id(group, egress, rule)
    out: dict[str, Any] = {
        "SecurityGroupRuleId": rid,
        "GroupId": group.id,
        "GroupOwnerId": group.owner_id,
        "IsEgress": egress,
        "IpProtocol": rule.protocol,
        "FromPort": -1 if rule.from_port is None else rule.from_port,
        "ToPort": -1 if rule.to_port is None else rule.to_port,
        "SecurityGroupRuleArn": f"arn:aws:ec2:{group.region}:{group.owner_id}:security-group-rule/{rid}",
    }
    if rule.cidr:
        out["CidrIpv4"] = rule.cidr
    if rule.group_id:
        out["ReferencedGroupInfo"] = {"GroupId": rule.group_id, "UserId": group.owner_id}
    if rule.description:
        out["Description"] = rule.description
    return out


def all_rule_shapes(group: SecurityGroup) -> list[dict[str, Any]]:
    return [rule_shape(group, egress, r) for egress in (False, True)
            for r in rules_of(group.egress if egress else group.ingress)]


def merged_permissions(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One IpPermission per protocol and port range, its peers together, as DescribeSecurityGroups shows them."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for perm in permissions:
        key = (perm.get("IpProtocol"), perm.get("FromPort"), perm.get("ToPort"))
        into = merged.get(key)
        if into is None:
            merged[key] = {k: (list(v) if isinstance(v, list) else v) for k, v in perm.items()}
            continue
        for field in ("IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs"):
            into.setdefault(field, []).extend(perm.get(field) or [])
    return list(merged.values())
