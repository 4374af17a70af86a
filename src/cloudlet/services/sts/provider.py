"""StsProvider: GetCallerIdentity, AssumeRole, GetSessionToken, GetAccessKeyInfo.

Internal interface: issue_role_session(role_arn, session_name, duration_s, ...)
-> Credential, for services (Lambda) that checked the trust policy themselves.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import Any

from cloudlet.core.arn_shape import is_arn
from cloudlet.core.context import Principal, RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.identity import Credential
from cloudlet.core.provider import Provider, operation
from cloudlet.services.sts.sessions import credentials_shape, issue
from cloudlet.services.sts.transitive import transitive_tags

SESSION_NAME = re.compile(r"^[\w+=,.@-]*$")
CHAINED_MAX_S = 3600
# PackedPolicySize is a percentage of this compressed-size budget.
PACKED_LIMIT = 2048


def _validation(message: str) -> AWSError:
    return AWSError("ValidationError", message, 400)


class StsProvider(Provider):
    service = "sts"

    # -- for other providers ---------------------------------------------------------
    def issue_role_session(
        self,
        role_arn: str,
        session_name: str,
        duration_s: int = 3600,
        source_identity: str | None = None,
        session_policies: tuple[dict[str, Any], ...] = (),
        session_tags: tuple[tuple[str, str], ...] = (),
        transitive_tag_keys: tuple[str, ...] = (),
    ) -> Credential:
        """Credentials for a session of ROLE_ARN; no trust check (the caller made it)."""
        role = self.world.iam.role_by_arn(role_arn.split(":")[4] if role_arn.count(":") >= 5 else "", role_arn)
        if role is None:
            raise AWSError("NoSuchEntity", f"The role {role_arn} cannot be found.", 404)
        principal = Principal(
            arn=f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/{session_name}",
            account_id=role.account_id,
            user_id=f"{role.role_id}:{session_name}",
            type="AssumedRole",
            name=role.name,
            role_arn=role.arn,
            session_name=session_name,
            session_policies=tuple(session_policies),
            session_tags=tuple(session_tags),
            transitive_tag_keys=tuple(transitive_tag_keys),
        )
        return issue(self.world.credentials, principal, duration_s)

    # -- operations ----------------------------------------------------------------------
    @operation("GetCallerIdentity")
    def get_caller_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        p = ctx.principal
        return {"UserId": p.user_id, "Account": p.account_id, "Arn": p.arn}

    @operation("GetAccessKeyInfo")
    def get_access_key_info(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        cred = self.world.credentials.get(params["AccessKeyId"])
        return {"Account": cred.principal.account_id if cred else self.world.config.account_id}

    @operation("AssumeRole")
    def assume_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = ctx.principal
        role_arn: str = params["RoleArn"]
        session_name: str = params["RoleSessionName"]
        if not 2 <= len(session_name) <= 64:
            bound = "greater than or equal to 2" if len(session_name) < 2 else "less than or equal to 64"
            raise _validation(
                f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to "
                f"satisfy constraint: Member must have length {bound}"
            )
        if not SESSION_NAME.match(session_name):
            raise _validation(
                f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            )
        if not is_arn(role_arn):
            raise _validation(f"{role_arn} is invalid")
        denied = AWSError(
            "AccessDenied",
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            403,
        )
        role = self.world.iam.role_by_arn(caller.account_id, role_arn)
        if role is None:
            raise denied
        duration = int(params.get("DurationSeconds") or 3600)
        if caller.type == "AssumedRole" and duration > CHAINED_MAX_S:
            raise _validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
            )
        if duration > role.max_session_duration:
            raise _validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")

        requested = self._tags(params.get("Tags") or [])
        tags, transitive = transitive_tags(caller, requested, params.get("TransitiveTagKeys") or [])
        policies = self._session_policies(caller, params)
        context: dict[str, Any] = {"sts:RoleSessionName": session_name}
        if params.get("ExternalId") is not None:
            context["sts:ExternalId"] = params["ExternalId"]
        if params.get("SourceIdentity") is not None:
            context["sts:SourceIdentity"] = params["SourceIdentity"]
        if requested:
            context["aws:TagKeys"] = [k for k, _ in requested]
            for k, v in requested:
                context[f"aws:RequestTag/{k}"] = v
        if params.get("TransitiveTagKeys"):
            context["sts:TransitiveTagKeys"] = list(params["TransitiveTagKeys"])

        # Imported here: GetCallerIdentity, often a start's first call, needs no policy engine.
        from cloudlet.policy.trust import can_assume_role

        allowed, reason = can_assume_role(self.world, caller, None, role, context)
        if not allowed:
            raise AWSError("AccessDenied", reason or denied.message, 403)

        cred = self.issue_role_session(
            role.arn, session_name, duration, params.get("SourceIdentity"), policies, tags, transitive
        )
        out: dict[str, Any] = {
            "Credentials": credentials_shape(cred),
            "AssumedRoleUser": {"AssumedRoleId": cred.principal.user_id, "Arn": cred.principal.arn},
        }
        packed = self._packed_size(params, requested)
        if packed is not None:
            out["PackedPolicySize"] = packed
        if params.get("SourceIdentity") is not None:
            out["SourceIdentity"] = params["SourceIdentity"]
        return out

    @operation("GetSessionToken")
    def get_session_token(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = ctx.principal
        if caller.type not in ("User", "Account") or (caller.access_key_id or "").startswith("ASIA"):
            raise AWSError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
        duration = int(params.get("DurationSeconds") or (3600 if caller.is_root else 43200))
        if caller.is_root:
            # The root identity's session tokens last at most an hour.
            duration = min(duration, 3600)
        cred = issue(self.world.credentials, caller, duration)
        return {"Credentials": credentials_shape(cred)}

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _tags(raw: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
        seen: set[str] = set()
        out = []
        for tag in raw:
            key = str(tag["Key"])
            if key.lower() in seen:
                raise AWSError(
                    "InvalidParameterValue",
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
                    400,
                )
            seen.add(key.lower())
            out.append((key, str(tag.get("Value", ""))))
        return tuple(out)

    def _session_policies(self, caller: Principal, params: dict[str, Any]) -> tuple[dict[str, Any], ...]:
        docs: list[dict[str, Any]] = []
        if params.get("Policy"):
            from cloudlet.policy.grammar import parse_policy_document

            docs.append(parse_policy_document(params["Policy"], "session"))
        for ref in params.get("PolicyArns") or []:
            arn = ref.get("arn", "")
            doc = self.world.iam.managed_policy_document(caller.account_id, arn)
            if doc is None:
                raise AWSError("InvalidParameterValue", f"Policy {arn} does not exist or is not attachable.", 400)
            docs.append(doc)
        return tuple(docs)

    @staticmethod
    def _packed_size(params: dict[str, Any], tags: tuple[tuple[str, str], ...]) -> int | None:
        if not (params.get("Policy") or params.get("PolicyArns") or tags):
            return None
        blob = json.dumps(
            [params.get("Policy") or "", [r.get("arn") for r in params.get("PolicyArns") or []], tags],
            separators=(",", ":"),
        ).encode()
        percent = math.ceil(len(zlib.compress(blob, 9)) * 100 / PACKED_LIMIT)
        if percent > 100:
            raise AWSError(
                "PackedPolicyTooLarge",
                f"Packed size of session policies and session tags exceeds the maximum allowed "
                f"size by {percent - 100}%.",
                400,
            )
        return percent
