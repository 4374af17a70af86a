"""HTTP status and fault side of error codes: the model's, then AWS's common ones.

A provider raising AWSError("NoSuchEntity", ...) needs no status: the model's
error shape carries `httpStatusCode` and `senderFault`. Codes not modeled per
service (auth and throttling errors every AWS API shares) come from the table
below, from AWS's "Common Errors" references.
"""

from __future__ import annotations

import dataclasses

from botocore.model import ServiceModel, Shape


@dataclasses.dataclass(frozen=True)
class ErrorInfo:
    shape: Shape | None
    status: int | None
    sender_fault: bool | None


COMMON_STATUS: dict[str, tuple[int, bool]] = {
    "AccessDenied": (403, True),
    "AccessDeniedException": (403, True),
    "AuthFailure": (401, True),
    "UnauthorizedOperation": (403, True),
    "ExpiredToken": (403, True),
    "ExpiredTokenException": (403, True),
    "IncompleteSignature": (400, True),
    "IncompleteSignatureException": (400, True),
    "InvalidAction": (400, True),
    "MissingAction": (400, True),
    "InvalidClientTokenId": (403, True),
    "InvalidSignatureException": (403, True),
    "UnrecognizedClientException": (403, True),
    "SignatureDoesNotMatch": (403, True),
    "MissingAuthenticationToken": (403, True),
    "MissingAuthenticationTokenException": (403, True),
    "RequestExpired": (400, True),
    "OptInRequired": (403, True),
    "InvalidParameterCombination": (400, True),
    "InvalidParameterValue": (400, True),
    "InvalidQueryParameter": (400, True),
    "MalformedQueryString": (404, True),
    "MissingParameter": (400, True),
    "ValidationError": (400, True),
    "ValidationException": (400, True),
    "SerializationException": (400, True),
    "UnknownOperationException": (400, True),
    "Throttling": (400, True),
    "ThrottlingException": (400, True),
    "InternalFailure": (500, False),
    "InternalError": (500, False),
    "ServiceUnavailable": (503, False),
    "ServiceUnavailableException": (503, False),
    "NotImplemented": (501, False),
    "NotImplementedException": (501, False),
}


def error_table(model: ServiceModel) -> dict[str, ErrorInfo]:
    """Every modeled error of the service, by its wire code."""
    table: dict[str, ErrorInfo] = {}
    for shape in model.error_shapes:
        error = shape.metadata.get("error") or {}
        code = error.get("code", shape.name)
        info = ErrorInfo(shape, error.get("httpStatusCode"), error.get("senderFault"))
        table[code] = info
        table.setdefault(shape.name, info)
    return table


def resolve(
    table: dict[str, ErrorInfo], code: str, status: int | None, sender_fault: bool | None
) -> tuple[Shape | None, int, bool]:
    """(error shape, HTTP status, sender fault) for an error with these explicit values."""
    info = table.get(code)
    shape = info.shape if info else None
    if info is not None:
        # A modeled error without a status is a plain client (400) or server (500) fault.
        if sender_fault is None:
            sender_fault = info.sender_fault if info.sender_fault is not None else (
                status < 500 if status is not None else True
            )
        if status is None:
            status = info.status or (400 if sender_fault else 500)
        return shape, status, sender_fault
    common = COMMON_STATUS.get(code)
    if status is None and common:
        status = common[0]
    if sender_fault is None:
        if common:
            sender_fault = common[1]
        else:
            sender_fault = status < 500 if status is not None else True
    if status is None:
        status = 400 if sender_fault else 500
    return None, status, sender_fault
