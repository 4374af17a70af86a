"""How each service words a rejected request: the one per-service table.

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


STYLES: dict[str, ValidationStyle] = {
    "iam": ValidationStyle("ValidationError", "ValidationError", "coral"),
    "sts": ValidationStyle("ValidationError", "ValidationError", "coral"),
    "elasticache": ValidationStyle("InvalidParameterValue", "InvalidParameterValue", "elasticache"),
    "ec2": ValidationStyle("InvalidParameterValue", "MissingParameter", "ec2"),
    "logs": ValidationStyle("InvalidParameterException", "InvalidParameterException", "coral"),
    "lambda": ValidationStyle("ValidationException", "ValidationException", "coral"),
}

DEFAULT_STYLE = ValidationStyle("ValidationException", "ValidationException", "coral")


def style_for(service: str) -> ValidationStyle:
    return STYLES.get(service, DEFAULT_STYLE)
