"""IAM's grammar check for policy documents, with IAM's own error messages.

IAM validates a document in stages and reports the first failing stage: JSON and
element syntax ("Syntax errors in policy."), then the Version rule for managed
policies, then the legacy parser's resource shape, then SID uniqueness, then
actions, resources, principals and vendor prefixes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cloudlet.core.errors import AWSError
from cloudlet.policy.conditions import operator_known

# identity: managed policy (CreatePolicy / CreatePolicyVersion) — must be 2012-10-17.
# inline:   inline identity policy (Put*Policy) and permissions boundaries.
# session:  AssumeRole session policy (identity grammar, no version rule).
# trust:    role trust policy; resource: resource-based policy.
POLICY_TYPES = ("identity", "inline", "session", "trust", "resource")
_PRINCIPAL_TYPES = ("identity", "inline", "session")

VERSIONS = ("2012-10-17", "2008-10-17")
_TOP_KEYS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
     "Resource", "NotResource", "Condition"}
)
_PRINCIPAL_KINDS = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
_PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "*"})
_VENDOR = re.compile(r"^[A-Za-z0-9*?-]+$")
_SID = re.compile(r"^[0-9A-Za-z]*$")
_ACCOUNT = re.compile(r"^\d{12}$")
# Actions a trust policy may grant (IAM refuses anything outside sts' assume family).
_TRUST_ACTION = re.compile(
    r"^sts:(\*|AssumeRole[A-Za-z*?]*|TagSession|SetSourceIdentity|SetContext|[A-Za-z]*\*)$",
    re.IGNORECASE,
)

SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"


def _fail(message: str) -> AWSError:
    return AWSError("MalformedPolicyDocument", message, status=400, sender_fault=True)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _is_str_or_str_list(value: Any, allow_empty: bool = True) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, list):
        return (allow_empty or bool(value)) and all(isinstance(v, str) for v in value)
    return False


def _check_principal_syntax(value: Any) -> None:
    if value == "*":
        return
    if not isinstance(value, dict) or not value:
        raise _fail(SYNTAX)
    for kind, ids in value.items():
        if kind not in _PRINCIPAL_KINDS or not _is_str_or_str_list(ids, allow_empty=False):
            raise _fail(SYNTAX)


def _check_condition_syntax(cond: Any) -> None:
    if not isinstance(cond, dict):
        raise _fail(SYNTAX)
    for operator, block in cond.items():
        if not isinstance(block, dict) or not block:
            raise _fail(SYNTAX)
        for key, values in block.items():
            if not isinstance(key, str):
                raise _fail(SYNTAX)
            for v in _as_list(values):
                # Values are scalars; numbers and booleans are accepted as written.
                if not isinstance(v, (str, int, float, bool)) or v is None:
                    raise _fail(SYNTAX)
            if isinstance(values, list) and not values:
                raise _fail(SYNTAX)
        if not operator_known(operator):
            raise _fail(SYNTAX)


def _check_statement_syntax(st: Any) -> None:
    if not isinstance(st, dict) or not st:
        raise _fail(SYNTAX)
    for key in st:
        if key not in _STATEMENT_KEYS:
            raise _fail(SYNTAX)
    for a, b in (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal")):
        if a in st and b in st:
            raise _fail(SYNTAX)
    if "Sid" in st and not isinstance(st["Sid"], str):
        raise _fail(SYNTAX)
    if "Effect" not in st or not isinstance(st["Effect"], str):
        raise _fail(SYNTAX)
    if st["Effect"] not in ("Allow", "Deny"):
        # The newer parser reads the effect case-insensitively; the legacy one does not.
        raise _fail(LEGACY if st["Effect"].lower() in ("allow", "deny") else SYNTAX)
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in st and not _is_str_or_str_list(st[key]):
            raise _fail(SYNTAX)
    for key in ("Principal", "NotPrincipal"):
        if key in st:
            _check_principal_syntax(st[key])
    if "Condition" in st:
        _check_condition_syntax(st["Condition"])


def _check_syntax(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise _fail(SYNTAX)
    if any(k not in _TOP_KEYS for k in doc):
        raise _fail(SYNTAX)
    if "Version" in doc and (not isinstance(doc["Version"], str) or doc["Version"] not in VERSIONS):
        raise _fail(SYNTAX)
    if "Id" in doc and not isinstance(doc["Id"], str):
        raise _fail(SYNTAX)
    if "Statement" not in doc:
        raise _fail(SYNTAX)
    statements = _as_list(doc["Statement"])
    if not statements:
        raise _fail(SYNTAX)
    for st in statements:
        _check_statement_syntax(st)
    return statements


def _resource_shape_error(resource: str) -> str | None:
    """The message IAM gives for a malformed Resource entry, or None when fine."""
    if resource == "*":
        return None
    if not resource.startswith("arn:"):
        return f'Resource {resource} must be in ARN format or "*".'
    parts = resource.split(":", 5)
    if len(parts) < 3 or not _VENDOR.match(parts[2] if len(parts) > 2 else ""):
        return "Resource vendor must be fully qualified and cannot contain regexes."
    if len(parts) < 6:
        return LEGACY
    partition, service, region = parts[1], parts[2], parts[3]
    if partition not in _PARTITIONS and "$" not in partition:
        return f'Partition "{partition}" is not valid for resource "{resource}".'
    if service == "iam" and region:
        return f"IAM resource {resource} cannot contain region information."
    if service == "s3" and region:
        return f"Resource {resource} can not contain region information."
    return None


def _action_error(action: str) -> str | None:
    if action == "*":
        return None
    if ":" not in action:
        return "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    if action.count(":") > 1:
        return "Actions/Condition can contain only one colon."
    vendor = action.split(":", 1)[0]
    if not _VENDOR.match(vendor):
        return f"Vendor {vendor} is not valid"
    return None


def _principal_error(value: Any) -> str | None:
    if value == "*":
        return None
    for kind, ids in value.items():
        for pid in _as_list(ids):
            if kind == "AWS" and not (pid == "*" or _ACCOUNT.match(pid) or pid.startswith("arn:")):
                return f'Invalid principal in policy: "AWS":"{pid}"'
            if kind == "AWS" and pid.startswith("arn:") and len(pid.split(":", 5)) < 6:
                return f'Invalid principal in policy: "AWS":"{pid}"'
            if not pid:
                return f'Invalid principal in policy: "{kind}":"{pid}"'
    return None


def validate_policy(doc: Any, policy_type: str = "identity") -> dict[str, Any]:
    """Validate an already-decoded document; returns it unchanged."""
    if policy_type not in POLICY_TYPES:
        raise ValueError(f"unknown policy type {policy_type!r}")
    statements = _check_syntax(doc)

    if policy_type == "identity" and doc.get("Version") != "2012-10-17":
        raise _fail("Policy document must be version 2012-10-17 or greater.")

    for st in statements:
        for r in _as_list(st.get("Resource", [])) + _as_list(st.get("NotResource", [])):
            msg = _resource_shape_error(r)
            if msg == LEGACY:
                raise _fail(LEGACY)

    sids = [st["Sid"] for st in statements if st.get("Sid")]
    if len(sids) != len(set(sids)):
        raise _fail("Statement IDs (SID) in a single policy must be unique.")

    for st in statements:
        actions = st.get("Action", st.get("NotAction"))
        if actions is None or actions == []:
            raise _fail("Policy statement must contain actions.")

    is_principal_policy = policy_type in ("trust", "resource")
    for st in statements:
        has_principal = "Principal" in st or "NotPrincipal" in st
        if not is_principal_policy and has_principal:
            raise _fail("Policy document should not specify a principal.")
        if is_principal_policy and not has_principal:
            raise _fail("Missing required field Principal")
        if policy_type == "trust":
            for key in ("Resource", "NotResource"):
                if key in st:
                    raise _fail(f"Has prohibited field {key}")
        elif policy_type in _PRINCIPAL_TYPES:
            res = st.get("Resource", st.get("NotResource"))
            if res is None or res == []:
                raise _fail("Policy statement must contain resources.")
        for r in _as_list(st.get("Resource", [])) + _as_list(st.get("NotResource", [])):
            msg = _resource_shape_error(r)
            if msg:
                raise _fail(msg)
        if policy_type in _PRINCIPAL_TYPES and st.get("Sid") and not _SID.match(st["Sid"]):
            raise _fail(
                "Statement IDs (SID) must be alpha-numeric. Check that your input "
                "satisfies the regular expression [0-9A-Za-z]*"
            )

    for st in statements:
        for a in _as_list(st.get("Action", st.get("NotAction", []))):
            msg = _action_error(a)
            if msg:
                raise _fail(msg)
        for block in st.get("Condition", {}).values():
            for key in block:
                if ":" not in key:
                    raise _fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
        if policy_type == "trust":
            for a in _as_list(st.get("Action", [])):
                if not _TRUST_ACTION.match(a):
                    raise _fail("AssumeRole policy may only specify STS AssumeRole actions.")
        for key in ("Principal", "NotPrincipal"):
            if key in st:
                msg = _principal_error(st[key])
                if msg:
                    raise _fail(msg)
    return doc


def parse_policy_document(text: str | dict[str, Any], policy_type: str = "identity") -> dict[str, Any]:
    """Decode and validate a policy document as IAM does; returns the decoded dict.

    Raises AWSError("MalformedPolicyDocument", <IAM's message>) (400) on any fault.
    """
    if isinstance(text, dict):
        return validate_policy(text, policy_type)
    if not isinstance(text, str) or not text.strip():
        raise _fail(SYNTAX)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise _fail(SYNTAX) from None
    return validate_policy(doc, policy_type)
