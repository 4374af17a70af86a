"""Lambda's resource-based policies: AddPermission, GetPolicy, RemovePermission.

Each function has one policy per qualifier (unqualified, a version, or an alias),
stored on the Function as its list of statements. A change to a policy gives the
version or alias it belongs to a new RevisionId, as Lambda does. LambdaProvider
delegates the three operations here; the authorizer reads the policies through
the provider's `resource_policy(arn)`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.interfaces import IdentityDirectory
from cloudlet.services.lambda_ import validation as v
from cloudlet.services.lambda_.models import LATEST, Function, new_revision
from cloudlet.services.lambda_.refs import parse_function_name

MAX_POLICY_BYTES = 20480
_ACCOUNT = re.compile(r"\d{12}")
_IAM_ENTITY = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):(user|role)/(?:[^/]+/)*([^/]+)")


def _compact(value: Any) -> str:
    # Lambda writes its policy JSON without whitespace.
    return json.dumps(value, separators=(",", ":"))


def _missing_resource() -> AWSError:
    return AWSError("ResourceNotFoundException", "The resource you requested does not exist.", status=404)


def policy_document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Id": "default", "Statement": statements}


class FunctionLookup(Protocol):
    """What the permissions need of LambdaProvider: its functions."""

    def qualified(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[Function, str | None]: ...

    def function_at(self, account_id: str, region: str, name: str) -> Function | None: ...


class FunctionPermissions:
    """AddPermission, GetPolicy and RemovePermission over the functions LOOKUP finds."""

    def __init__(self, lookup: FunctionLookup, iam: IdentityDirectory) -> None:
        self.lookup = lookup
        self.iam = iam

    # ---- which policy a request names ---------------------------------------------------
    def _policy_target(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> tuple[Function, str, str]:
        """(function, policy key, resource ARN): key is $LATEST for the unqualified function."""
        fn, qualifier = self.lookup.qualified(ctx, params)
        arn = fn.latest.function_arn
        if qualifier in (None, LATEST):
            return fn, LATEST, arn
        if qualifier not in fn.versions and qualifier not in fn.aliases:
            raise AWSError("ResourceNotFoundException", f"Function not found: {arn}:{qualifier}", status=404)
        return fn, qualifier, f"{arn}:{qualifier}"

    @staticmethod
    def _policy_revision(fn: Function, key: str) -> str:
        if key == LATEST:
            return fn.latest.revision_id
        if key in fn.aliases:
            return fn.aliases[key].revision_id
        return fn.versions[key].revision_id

    @staticmethod
    def _bump_revision(fn: Function, key: str) -> None:
        if key == LATEST:
            fn.latest.revision_id = new_revision()
        elif key in fn.aliases:
            fn.aliases[key].revision_id = new_revision()
        else:
            fn.versions[key].revision_id = new_revision()

    # ---- statement construction -----------------------------------------------------------
    def _principal_element(self, principal: str) -> Any:
        """Principal as Lambda writes it: "*", {"AWS": ARN} (an account id becomes its root ARN)
        or {"Service": NAME}."""
        if principal == "*":
            return "*"
        if _ACCOUNT.fullmatch(principal):
            return {"AWS": f"arn:aws:iam::{principal}:root"}
        if principal.startswith("arn:"):
            entity = _IAM_ENTITY.fullmatch(principal)
            if entity is not None and not self._iam_entity_exists(principal, *entity.groups()):
                raise self._invalid_principal()
            return {"AWS": principal}
        if "." in principal:
            return {"Service": principal}
        raise self._invalid_principal()

    @staticmethod
    def _invalid_principal() -> AWSError:
        return v.invalid("The provided principal was invalid. Please check the principal and try again.")

    def _iam_entity_exists(self, arn: str, account: str, kind: str, name: str) -> bool:
        # AWS resolves IAM user and role principals when it stores the policy.
        if kind == "role":
            return self.iam.role_by_arn(account, arn) is not None
        return self.iam.user_exists(account, arn)

    @staticmethod
    def _conditions(params: dict[str, Any]) -> dict[str, dict[str, str]]:
        equals: dict[str, str] = {}
        if params.get("SourceAccount") is not None:
            equals["AWS:SourceAccount"] = params["SourceAccount"]
        if params.get("PrincipalOrgID") is not None:
            equals["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
        if params.get("EventSourceToken") is not None:
            equals["lambda:EventSourceToken"] = params["EventSourceToken"]
        if params.get("FunctionUrlAuthType") is not None:
            equals["lambda:FunctionUrlAuthType"] = params["FunctionUrlAuthType"]
        out: dict[str, dict[str, str]] = {}
        if equals:
            out["StringEquals"] = equals
        if params.get("SourceArn") is not None:
            out["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
        if params.get("InvokedViaFunctionUrl"):
            out["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
        return out

    # ---- operations ----------------------------------------------------------------------------
    def add(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("Qualifier") == LATEST or params["FunctionName"].endswith(f":{LATEST}"):
            raise v.invalid("We currently do not support adding policies for $LATEST.")
        fn, key, resource = self._policy_target(ctx, params)
        if params.get("RevisionId") is not None and params["RevisionId"] != self._policy_revision(fn, key):
            raise v.precondition_failed()
        statements = fn.policies.get(key, [])
        sid = params["StatementId"]
        if any(s.get("Sid") == sid for s in statements):
            raise AWSError(
                "ResourceConflictException",
                f"The statement id ({sid}) provided already exists. Please provide a new statement id, "
                "or remove the existing statement.",
                status=409,
            )
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": self._principal_element(params["Principal"]),
            "Action": params["Action"],
            "Resource": resource,
        }
        condition = self._conditions(params)
        if condition:
            statement["Condition"] = condition
        size = len(_compact(policy_document([*statements, statement])).encode())
        if size > MAX_POLICY_BYTES:
            raise AWSError(
                "PolicyLengthExceededException",
                f"The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES}).",
                status=400,
            )
        fn.policies[key] = [*statements, statement]
        self._bump_revision(fn, key)
        return {"Statement": _compact(statement)}

    def get(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, key, _resource = self._policy_target(ctx, params)
        statements = fn.policies.get(key)
        if not statements:
            raise _missing_resource()
        return {"Policy": _compact(policy_document(statements)), "RevisionId": self._policy_revision(fn, key)}

    def remove(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = parse_function_name(params["FunctionName"], ctx.account_id, ctx.region)
        if self.lookup.function_at(ref.account_id, ref.region, ref.name) is None:
            # RemovePermission words a missing function as a missing policy.
            raise AWSError("ResourceNotFoundException", f"No policy found for: {ref.arn}", status=404)
        fn, key, _resource = self._policy_target(ctx, params)
        statements = fn.policies.get(key)
        if not statements:
            raise AWSError("ResourceNotFoundException", "No policy is associated with the given resource.", status=404)
        sid = params["StatementId"]
        kept = [s for s in statements if s.get("Sid") != sid]
        if len(kept) == len(statements):
            raise AWSError("ResourceNotFoundException", f"Statement {sid} is not found in resource policy.", status=404)
        if params.get("RevisionId") is not None and params["RevisionId"] != self._policy_revision(fn, key):
            raise v.precondition_failed()
        if kept:
            fn.policies[key] = kept
        else:
            del fn.policies[key]
        self._bump_revision(fn, key)
        return {}

    # ---- for the authorizer --------------------------------------------------------------------
    def resource_policy(self, arn: str) -> dict[str, Any] | None:
        """The resource-based policy of the function (version, alias) ARN names, or None."""
        parts = arn.split(":")
        if len(parts) not in (7, 8) or parts[2] != "lambda" or parts[5] != "function":
            return None
        fn = self.lookup.function_at(parts[4], parts[3], parts[6])
        if fn is None:
            return None
        statements = fn.policies.get(parts[7] if len(parts) == 8 else LATEST)
        return policy_document(list(statements)) if statements else None
