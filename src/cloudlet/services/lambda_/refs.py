"""What a FunctionName names: the one parser the API and the authorizer share."""

from __future__ import annotations

import dataclasses

from cloudlet.core.errors import AWSError
from cloudlet.services.lambda_ import validation as v
from cloudlet.services.lambda_.models import LATEST


@dataclasses.dataclass(frozen=True)
class FunctionRef:
    """A function NAME in ACCOUNT/REGION, maybe with a version or alias QUALIFIER."""

    account_id: str
    region: str
    name: str
    qualifier: str | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    @property
    def qualified_arn(self) -> str:
        """The ARN with its qualifier ($LATEST and none give the unqualified ARN)."""
        return self.arn if self.qualifier in (None, LATEST) else f"{self.arn}:{self.qualifier}"


def not_found(arn: str) -> AWSError:
    return AWSError("ResourceNotFoundException", f"Function not found: {arn}", status=404)


def parse_function_name(raw: str, account_id: str, region: str) -> FunctionRef:
    """FunctionName as Lambda takes it: NAME, NAME:QUALIFIER, ACCOUNT:function:NAME[:QUALIFIER] or
    arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]. A (partial) ARN of another account or
    region names a function this caller cannot see: not found."""
    parts = raw.split(":")
    if raw.startswith("arn:"):
        if len(parts) not in (7, 8) or parts[2] != "lambda" or parts[5] != "function":
            v.check_function_name(raw)
        if parts[3] != region or parts[4] != account_id:
            raise not_found(raw)
        return FunctionRef(account_id, region, parts[6], parts[7] if len(parts) == 8 else None)
    if len(parts) >= 3 and parts[1] == "function":
        if parts[0] != account_id:
            raise not_found(raw)
        return FunctionRef(account_id, region, parts[2], parts[3] if len(parts) == 4 else None)
    if len(parts) == 2:
        return FunctionRef(account_id, region, parts[0], parts[1])
    v.check_function_name(raw)
    return FunctionRef(account_id, region, raw)


def request_ref(params: dict[str, object], account_id: str, region: str) -> FunctionRef:
    """The function a request names: FunctionName's own :QUALIFIER or Qualifier (both must agree)."""
    ref = parse_function_name(str(params["FunctionName"]), account_id, region)
    qualifier = params.get("Qualifier")
    if qualifier is not None and not isinstance(qualifier, str):
        raise v.invalid("Qualifier must be a string.")
    if ref.qualifier and qualifier and ref.qualifier != qualifier:
        raise v.invalid("The derived qualifier from the function name does not match the specified qualifier.")
    return dataclasses.replace(ref, qualifier=qualifier or ref.qualifier)
