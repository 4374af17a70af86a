"""How each service words a rejected request and the front door's own errors: the one per-service table.

AWS services built on Coral (IAM, STS, Logs, Lambda) report constraint
failures as "N validation error(s) detected: Value 'x' at 'member' failed to
satisfy constraint: ..." under their own code; EC2 and ElastiCache keep their
older query-era codes (MissingParameter / InvalidParameterValue).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ValidationStyle:
    #: code for a value that breaks a model constraint
    code: str
    #: code for a required member that is absent
    missing_code: str
    #: "coral", "ec2" or "elasticache": the message wording
    wording: str
    #: code for a body that is not valid JSON or has a wrongly typed member
    serialization_code: str = "SerializationException"
    #: code and message of an internal failure (HTTP 500)
    internal_code: str = "InternalFailure"
    internal_message: str = "The request processing has failed because of an unknown error, exception or failure."
    #: code for an operation cloudlet does not implement (HTTP 501)
    not_implemented_code: str = "NotImplemented"
    #: code for a request body over the size limit (HTTP 413)
    too_large_code: str = "RequestEntityTooLarge"
    #: AccessDenied: code, status (None: the model's default for that error), message prefix
    access_denied_code: str = "AccessDenied"
    access_denied_status: int | None = 403
    access_denied_prefix: str = ""
    #: whether a denial names the resource even when it is "*"
    denial_names_any_resource: bool = False
    #: shapes whose constraints the service reports under another code, so its provider checks them
    provider_checked: frozenset[str] = frozenset()
    #: (member, message): a top-level member over its maximum length gets the service's own message
    too_long_wording: tuple[tuple[str, str], ...] = ()


# Logs checks name lengths itself, before the model's constraints (recorded against AWS).
_LOGS_TOO_LONG = "Invalid LogGroup or LogStream, both must have length less than or equal to 512."

STYLES: dict[str, ValidationStyle] = {
    "iam": ValidationStyle("ValidationError", "ValidationError", "coral"),
    "sts": ValidationStyle("ValidationError", "ValidationError", "coral"),
    "elasticache": ValidationStyle("InvalidParameterValue", "InvalidParameterValue", "elasticache"),
    "ec2": ValidationStyle(
        "InvalidParameterValue", "MissingParameter", "ec2",
        internal_code="InternalError", internal_message="An internal error has occurred",
        access_denied_code="UnauthorizedOperation",
        access_denied_prefix="You are not authorized to perform this operation. ",
    ),
    "logs": ValidationStyle(
        "InvalidParameterException", "InvalidParameterException", "coral",
        not_implemented_code="NotImplementedException",
        # The Logs model declares AccessDeniedException with no status: its default applies.
        access_denied_code="AccessDeniedException", access_denied_status=None,
        too_long_wording=tuple((m, _LOGS_TOO_LONG) for m in ("logGroupName", "logStreamName")),
    ),
    "lambda": ValidationStyle(
        "ValidationException", "ValidationException", "coral",
        internal_code="ServiceException", internal_message="An internal error occurred.",
        not_implemented_code="NotImplementedException", too_large_code="RequestEntityTooLargeException",
        access_denied_code="AccessDeniedException", denial_names_any_resource=True,
        # An unknown runtime is InvalidParameterValueException "... or be a valid ARN" (lambda_/validation.py).
        provider_checked=frozenset({"Runtime"}),
    ),
    # CloudWatch keeps its query-era codes; a model constraint is a Coral ValidationError (recorded).
    "cloudwatch": ValidationStyle(
        "ValidationError", "ValidationError", "coral",
        internal_code="InternalServiceError", internal_message="Internal service error",
        access_denied_code="AccessDenied",
    ),
}

DEFAULT_STYLE = ValidationStyle("ValidationException", "ValidationException", "coral")


def style_for(service: str) -> ValidationStyle:
    return STYLES.get(service, DEFAULT_STYLE)
