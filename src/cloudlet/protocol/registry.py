"""get_protocol(service): the wire protocol for a botocore service name, built once.

A model may list several protocols (CloudWatch: smithy-rpc-v2-cbor, json, query), each
spoken by some SDK; protocol_for_request picks the one a request is written in.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.exceptions
import botocore.loaders
from botocore.model import ServiceModel

from cloudlet.core.errors import AWSError
from cloudlet.protocol.base import Protocol
from cloudlet.protocol.http import HttpRequest
from cloudlet.protocol.json_rpc import JsonProtocol
from cloudlet.protocol.query import Ec2Protocol, QueryProtocol
from cloudlet.protocol.rest_json import RestJsonProtocol
from cloudlet.protocol.rpcv2_cbor import RpcV2CborProtocol

_BY_PROTOCOL: dict[str, type[Protocol]] = {
    "query": QueryProtocol,
    "ec2": Ec2Protocol,
    "json": JsonProtocol,
    "rest-json": RestJsonProtocol,
    "smithy-rpc-v2-cbor": RpcV2CborProtocol,
}


@functools.lru_cache(maxsize=1)
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def _service_data(service: str) -> dict[str, Any]:
    """SERVICE's latest service-2 document with its extras, as `Loader.load_service_model` gives it,
    but without that method's first step, a listing of every service botocore has (~460
    directories: ~10 ms of a start's first answer) only to check that SERVICE is one."""
    loader = _loader()
    try:
        version = loader.determine_latest_version(service, "service-2")
    except botocore.exceptions.DataNotFoundError:
        known = ", ".join(loader.list_available_services("service-2"))
        raise botocore.exceptions.UnknownServiceError(service_name=service, known_service_names=known) from None
    data: dict[str, Any] = loader.load_data(f"{service}/{version}/service-2")
    extras = []
    for kind in loader.extras_types:
        try:
            extras.append(loader.load_data(f"{service}/{version}/service-2.{kind}-extras"))
        except botocore.exceptions.DataNotFoundError:
            pass
    botocore.loaders.ExtrasProcessor().process(data, extras)
    return data


@functools.cache
def load_model(service: str) -> ServiceModel:
    return ServiceModel(_service_data(service), service_name=service)


@functools.cache
def get_protocol(service: str) -> Protocol:
    try:
        model = load_model(service)
    except botocore.exceptions.UnknownServiceError:
        raise AWSError("UnknownService", f"Unknown service {service}", status=400) from None
    cls = _BY_PROTOCOL.get(model.protocol)
    if cls is None:
        raise AWSError("InternalFailure", f"Protocol {model.protocol} of {service} is not supported", status=500)
    return cls(service, model)


@functools.cache
def protocol_named(service: str, protocol: str) -> Protocol:
    """SERVICE's wire format PROTOCOL, one of those its model lists."""
    return _BY_PROTOCOL[protocol](service, load_model(service))


def protocol_for_request(service: str, req: HttpRequest) -> Protocol:
    """The protocol REQ is written in, among those SERVICE's model lists; else the model's own."""
    default = get_protocol(service)
    offered = default.model.metadata.get("protocols") or []
    if len(offered) < 2:
        return default
    if "smithy-rpc-v2-cbor" in offered and req.path.startswith("/service/"):
        chosen = "smithy-rpc-v2-cbor"
    elif "json" in offered and "X-Amz-Target" in req.headers:
        chosen = "json"
    elif "query" in offered and req.path in ("", "/"):
        chosen = "query"
    else:
        return default
    return default if chosen == default.name else protocol_named(service, chosen)
