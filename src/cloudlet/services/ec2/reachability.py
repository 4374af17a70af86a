"""Whether one TCP flow inside a VPC is allowed, decided from the EC2 state as AWS decides it.

A flow goes from one network interface (its subnet, its security groups, its
address) to another on one TCP port. It is allowed when both ends are in the
same VPC, one of the source's groups has an outbound rule for it, and one of the
destination's groups has an inbound rule for it: by a group reference (a group
of the other end) or by a CIDR block holding the other end's address. Security
groups are stateful, so replies need no rule. The answer is None (allowed) or a
sentence naming the missing rule, which cloudlet writes in the function's log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
from collections.abc import Sequence
from typing import Any

from cloudlet.services.ec2.model import Ec2State, SecurityGroup, Subnet


@dataclasses.dataclass(frozen=True)
class FlowEnd:
    """One end of a flow: an interface in a subnet with its security groups."""

    vpc_id: str
    subnet_id: str
    address: str
    group_ids: tuple[str, ...]


def interface_address(subnet: Subnet, owner: str) -> str:
    """A stable private address in the subnet for the interface of `owner` (a function, a cache).

    AWS reserves a subnet's first four addresses and its last one."""
    net = ipaddress.ip_network(subnet.cidr_block)
    usable = max(net.num_addresses - 5, 1)
    offset = int.from_bytes(hashlib.sha256(f"{subnet.id}/{owner}".encode()).digest()[:4], "big") % usable
    return str(net.network_address + 4 + offset)


def flow_end(state: Ec2State, subnet_ids: Sequence[str], group_ids: Sequence[str], owner: str) -> FlowEnd | None:
    """The interface of owner in the first of its subnets that still exists, or None with none left."""
    subnet = next((state.subnets[s] for s in subnet_ids if s in state.subnets), None)
    if subnet is None:
        return None
    return FlowEnd(subnet.vpc_id, subnet.id, interface_address(subnet, owner), tuple(group_ids))


def _covers_port(rule: dict[str, Any], port: int) -> bool:
    protocol = str(rule.get("IpProtocol", "")).lower()
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    low, high = rule.get("FromPort"), rule.get("ToPort")
    if low is None or high is None or int(low) == -1:
        return True
    return int(low) <= port <= int(high)


def _matches_peer(rule: dict[str, Any], peer: FlowEnd) -> bool:
    if any(pair.get("GroupId") in peer.group_ids for pair in rule.get("UserIdGroupPairs") or []):
        return True
    address = ipaddress.ip_address(peer.address)
    for block in rule.get("IpRanges") or []:
        try:
            if address in ipaddress.ip_network(str(block.get("CidrIp", "")), strict=False):
                return True
        except ValueError:
            continue
    return False


def _allows(groups: list[SecurityGroup], direction: str, peer: FlowEnd, port: int) -> bool:
    for group in groups:
        rules = group.egress if direction == "egress" else group.ingress
        if any(_covers_port(rule, port) and _matches_peer(rule, peer) for rule in rules):
            return True
    return False


def check_flow(state: Ec2State, src: FlowEnd, dst: FlowEnd, port: int) -> str | None:
    """None when src may open a TCP connection to dst on port; otherwise what is missing."""
    if src.vpc_id != dst.vpc_id:
        return f"the destination is in {dst.vpc_id}, the source in {src.vpc_id} (no route between VPCs)"
    src_groups = [state.security_groups[g] for g in src.group_ids if g in state.security_groups]
    dst_groups = [state.security_groups[g] for g in dst.group_ids if g in state.security_groups]
    if not _allows(src_groups, "egress", dst, port):
        return (f"no outbound rule of security group(s) {', '.join(src.group_ids)} allows TCP {port} "
                f"to {dst.address} ({', '.join(dst.group_ids)})")
    if not _allows(dst_groups, "ingress", src, port):
        return (f"no inbound rule of security group(s) {', '.join(dst.group_ids)} allows TCP {port} "
                f"from {src.address} ({', '.join(src.group_ids)})")
    return None


def egress_allows(state: Ec2State, src: FlowEnd, address: str, port: int) -> bool:
    """Whether one of src's groups lets it open TCP port to address (outside every group)."""
    groups = [state.security_groups[g] for g in src.group_ids if g in state.security_groups]
    return _allows(groups, "egress", FlowEnd("", "", address, ()), port)
