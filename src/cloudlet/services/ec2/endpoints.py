"""Interface VPC endpoints: how a function in a VPC (no public IP) reaches AWS's API.

Create/Describe/DeleteVpcEndpoints with AWS's shapes and refusals, and the
question the Lambda egress asks: may an interface in this VPC reach SERVICE's
API through an endpoint (private DNS on, security groups allowing TCP 443)?
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

from cloudlet.core.errors import AWSError
from cloudlet.core.ids import hex_id
from cloudlet.services.ec2.model import Ec2State, VpcEndpoint
from cloudlet.services.ec2.reachability import FlowEnd, check_flow, egress_allows, flow_end
from cloudlet.services.ec2.routing import nat_denial
from cloudlet.services.ec2.shapes import tag_set

# The services cloudlet serves whose API AWS offers as an interface endpoint (IAM has none).
ENDPOINT_SERVICES = ("ec2", "elasticache", "lambda", "logs", "sts")
_FULL_ACCESS = json.dumps({"Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]})
HTTPS = 443
PUBLIC_API_ADDRESS = "52.94.0.1"  # stands for a service's public endpoint in rule checks


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def _invalid(message: str) -> AWSError:
    return AWSError("InvalidParameter", message, 400)


def create(state: Ec2State, params: dict[str, Any], account_id: str, region: str) -> VpcEndpoint:
    vpc_id = params["VpcId"]
    if vpc_id not in state.vpcs:
        raise AWSError("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist", 400)
    name = params["ServiceName"]
    kind = params.get("VpcEndpointType") or "Gateway"
    known = {service_name(region, s) for s in ENDPOINT_SERVICES}
    if name not in known:
        raise AWSError("InvalidServiceName", f"The Vpc Endpoint Service '{name}' does not exist", 400)
    if kind != "Interface":
        raise _invalid(f"The Vpc Endpoint Service '{name}' does not support the endpoint type {kind}.")
    subnets = list(dict.fromkeys(params.get("SubnetIds") or []))
    zones: set[str] = set()
    for sid in subnets:
        subnet = state.subnets.get(sid)
        if subnet is None:
            raise AWSError("InvalidSubnetID.NotFound", f"The subnet ID '{sid}' does not exist", 400)
        if subnet.vpc_id != vpc_id:
            raise _invalid(f"The subnet ID '{sid}' does not belong to the VPC '{vpc_id}'")
        if subnet.availability_zone in zones:
            raise _invalid("Found another VPC endpoint subnet in the availability zone of " + sid)
        zones.add(subnet.availability_zone)
    groups = list(dict.fromkeys(params.get("SecurityGroupIds") or []))
    for gid in groups:
        group = state.security_groups.get(gid)
        if group is None:
            raise AWSError("InvalidGroup.NotFound", f"The security group '{gid}' does not exist", 400)
        if group.vpc_id != vpc_id:
            raise _invalid(f"The security group '{gid}' does not belong to the VPC '{vpc_id}'")
    if not groups:  # AWS puts the VPC's default group on it
        groups = [g.id for g in state.security_groups.values() if g.vpc_id == vpc_id and g.name == "default"]
    private_dns = params.get("PrivateDnsEnabled", True)
    dns_domain = f"{name.rsplit('.', 1)[1]}.{region}.amazonaws.com"
    if private_dns and any(e.vpc_id == vpc_id and e.service_name == name and e.private_dns_enabled
                           for e in state.vpc_endpoints.values()):
        raise _invalid(f"private-dns-enabled cannot be set because there is already a conflicting DNS domain "
                       f"for {dns_domain} in the VPC {vpc_id}")
    policy = params.get("PolicyDocument") or _FULL_ACCESS
    try:
        json.loads(policy)
    except ValueError:
        raise AWSError("InvalidPolicyDocument", "The policy document is not valid JSON", 400) from None
    tags = {str(t["Key"]): str(t.get("Value", ""))
            for spec in params.get("TagSpecifications") or [] for t in spec.get("Tags") or []}
    endpoint = VpcEndpoint(
        id=hex_id("vpce"), vpc_id=vpc_id, service_name=name, endpoint_type=kind, subnet_ids=subnets,
        group_ids=groups, private_dns_enabled=bool(private_dns), policy_document=policy, owner_id=account_id,
        region=region, network_interface_ids=[hex_id("eni") for _ in subnets],
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        tags=tags,
    )
    state.vpc_endpoints[endpoint.id] = endpoint
    return endpoint


def delete(state: Ec2State, ids: list[str]) -> list[dict[str, Any]]:
    """Deletes the endpoints; each unknown id is one UnsuccessfulItem, as AWS answers."""
    unsuccessful = []
    for vid in ids:
        if state.vpc_endpoints.pop(vid, None) is None:
            unsuccessful.append({"Error": {"Code": "InvalidVpcEndpoint.NotFound",
                                           "Message": f"The Vpc Endpoint Id '{vid}' does not exist"},
                                 "ResourceId": vid})
    return unsuccessful


def shape(endpoint: VpcEndpoint, state: Ec2State, pending: bool = False) -> dict[str, Any]:
    service = endpoint.service_name.rsplit(".", 1)[1]
    suffix = hashlib.sha256(endpoint.id.encode()).hexdigest()[:8]
    dns = [{"DnsName": f"{endpoint.id}-{suffix}.{service}.{endpoint.region}.vpce.amazonaws.com",
            "HostedZoneId": "Z7HUB22UULQXV"}]
    if endpoint.private_dns_enabled:
        dns.append({"DnsName": f"{service}.{endpoint.region}.amazonaws.com", "HostedZoneId": "ZONEIDPENDING"})
    groups = [{"GroupId": g, "GroupName": state.security_groups[g].name}
              for g in endpoint.group_ids if g in state.security_groups]
    return {
        "VpcEndpointId": endpoint.id,
        "VpcEndpointType": endpoint.endpoint_type,
        "VpcId": endpoint.vpc_id,
        "ServiceName": endpoint.service_name,
        "State": "pending" if pending else endpoint.state,
        "PolicyDocument": endpoint.policy_document,
        "RouteTableIds": [],
        "SubnetIds": list(endpoint.subnet_ids),
        "Groups": groups,
        "IpAddressType": "ipv4",
        "DnsOptions": {"DnsRecordIpType": "ipv4"},
        "PrivateDnsEnabled": endpoint.private_dns_enabled,
        "RequesterManaged": False,
        "NetworkInterfaceIds": list(endpoint.network_interface_ids),
        "DnsEntries": dns,
        "CreationTimestamp": endpoint.created,
        "OwnerId": endpoint.owner_id,
        **tag_set(endpoint.tags),
    }


def _through_nat(state: Ec2State, source: FlowEnd) -> str | None:
    denial = nat_denial(state, source)
    if denial is None and not egress_allows(state, source, PUBLIC_API_ADDRESS, HTTPS):
        denial = f"no outbound rule of security group(s) {', '.join(source.group_ids)} allows TCP 443 to the internet"
    return denial


def api_denial(state: Ec2State, source: FlowEnd, service: str, region: str) -> str | None:
    """None when source reaches SERVICE's API: through an interface endpoint of its VPC with private
    DNS (which then answers for the service's name), else through a NAT gateway; else why not."""
    name = service_name(region, service)
    dns_endpoints = [e for e in state.vpc_endpoints.values()
                     if e.vpc_id == source.vpc_id and e.service_name == name and e.private_dns_enabled]
    if not dns_endpoints:
        nat = _through_nat(state, source)
        if nat is None:
            return None
        what = f"an interface VPC endpoint ({name}) or a NAT gateway" if service in ENDPOINT_SERVICES \
            else "a NAT gateway"
        return f"a function in a VPC has no public IP: {service or 'an unsigned request'} needs {what}; {nat}"
    reasons = []
    for endpoint in dns_endpoints:
        target = flow_end(state, endpoint.subnet_ids, endpoint.group_ids, f"vpce:{endpoint.id}")
        if target is None:
            reasons.append(f"{endpoint.id} has no subnet")
            continue
        denial = check_flow(state, source, target, HTTPS)
        if denial is None:
            return None
        reasons.append(f"{endpoint.id}: {denial}")
    return "; ".join(reasons)
