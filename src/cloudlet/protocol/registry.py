"""get_protocol(service): the wire protocol for a botocore service name, built once."""

from __future__ import annotations

import functools

import botocore.exceptions
import botocore.loaders
from botocore.model import ServiceModel

from cloudlet.core.errors import AWSError
from cloudlet.protocol.base import Protocol
from cloudlet.protocol.json_rpc import JsonProtocol
from cloudlet.protocol.query import Ec2Protocol, QueryProtocol
from cloudlet.protocol.rest_json import RestJsonProtocol

_BY_PROTOCOL: dict[str, type[Protocol]] = {
    "query": QueryProtocol,
    "ec2": Ec2Protocol,
    "json": JsonProtocol,
    "rest-json": RestJsonProtocol,
}


@functools.lru_cache(maxsize=1)
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


@functools.cache
def load_model(service: str) -> ServiceModel:
    data = _loader().load_service_model(service, "service-2")
    return ServiceModel(data, service_name=service)


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
