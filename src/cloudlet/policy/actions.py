"""Operation -> IAM action and the resource ARNs a request is authorized against.

Everything comes from the service authorization reference extracted into
data/actions.json (scripts/build_policy_data.py): the action's resource types
and their ARN formats. ARN placeholders are filled from the request members of
the same name (`${FunctionName}` <- FunctionName, `${RoleNameWithPath}` <- Path +
RoleName, `${LogGroupName}` <- logGroupName), or taken whole from a member
`<Type>Arn`; an action without a resource type is authorized on "*".
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

_DATA = Path(__file__).with_name("data") / "actions.json"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@functools.lru_cache(maxsize=1)
def _reference() -> dict[str, Any]:
    return json.loads(_DATA.read_text())


def action_for(service: str, operation: str) -> str:
    """The IAM action an API operation is authorized as, e.g. lambda:InvokeFunction."""
    ref = _reference().get(service)
    if ref is None:
        return f"{service}:{operation}"
    return f"{service}:{ref['operations'].get(operation, operation)}"


def _ci_get(params: dict[str, Any], name: str) -> Any:
    if name in params:
        return params[name]
    low = name.lower()
    for k, v in params.items():
        if k.lower() == low:
            return v
    return None


def _function_name(value: str) -> str:
    """Lambda accepts a name, a partial ARN (ACCT:function:NAME) or a full ARN."""
    if value.startswith("arn:"):
        parts = value.split(":")
        return parts[6] if len(parts) > 6 else value
    if ":function:" in value:
        return value.split(":function:", 1)[1].split(":", 1)[0]
    return value.split(":", 1)[0]


def _placeholder_value(name: str, params: dict[str, Any]) -> str | None:
    if name.endswith("WithPath"):
        base = _ci_get(params, name[: -len("WithPath")])
        if not isinstance(base, str):
            return None
        path = _ci_get(params, "Path")
        prefix = path.strip("/") + "/" if isinstance(path, str) and path.strip("/") else ""
        return prefix + base
    value = _ci_get(params, name)
    if value is None and name == "LogGroupName":
        value = _ci_get(params, "logGroupIdentifier")
        if isinstance(value, str) and value.startswith("arn:"):
            value = value.split(":log-group:", 1)[-1].removesuffix(":*")
    if isinstance(value, str) and value:
        return _function_name(value) if name == "FunctionName" else value
    return None


def _render(fmt: str, params: dict[str, Any], region: str, account: str) -> str | None:
    fixed = {"Partition": "aws", "Region": region, "Account": account}
    missing = False

    def fill(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1)
        if name in fixed:
            return fixed[name]
        value = _placeholder_value(name, params)
        if value is None:
            missing = True
            return ""
        return value

    arn = _PLACEHOLDER.sub(fill, fmt)
    return None if missing else arn


def _render_each(fmt: str, params: dict[str, Any], region: str, account: str) -> list[str]:
    """One ARN per element of a plural member (UserIds for ${UserId}), when the request has one."""
    names = [n for n in _PLACEHOLDER.findall(fmt) if n not in ("Partition", "Region", "Account")]
    if len(names) != 1:
        return []
    values = _ci_get(params, names[0] + "s")
    if not isinstance(values, list):
        return []
    out = []
    for v in values:
        if isinstance(v, str):
            arn = _render(fmt, {names[0]: v}, region, account)
            if arn is not None:
                out.append(arn)
    return out


def _arn_member(resource_type: str, params: dict[str, Any]) -> str | None:
    camel = "".join(p[:1].upper() + p[1:] for p in re.split(r"[-_]", resource_type))
    for name in (f"{camel}Arn", f"{camel}ARN"):
        v = _ci_get(params, name)
        if isinstance(v, str) and v.startswith("arn:"):
            return v
    return None


def _log_group_arn(arn: str) -> str:
    # CloudWatch Logs authorizes log-group actions on the group's stream space.
    return arn + ":log-stream:"


def resources_for(service: str, action: str, params: dict[str, Any], region: str, account: str) -> list[str]:
    """Resource ARNs ACTION (service:Name) is checked against for a request with PARAMS."""
    ref = _reference().get(service)
    name = action.split(":", 1)[1]
    if ref is None:
        return ["*"]
    types = ref["actions"].get(name)
    if not types:
        return ["*"]
    required = [t for t, req in types if req]
    candidates = required or [t for t, _ in types]
    out: list[str] = []
    for rtype in candidates:
        fmt = ref["resources"].get(rtype)
        arn = _arn_member(rtype, params)
        if arn is None:
            arn = _render(fmt, params, region, account) if fmt else None
            if arn is not None and service == "logs" and rtype == "log-group":
                arn = _log_group_arn(arn)
        if arn is not None:
            out.append(arn)
        elif fmt:
            out.extend(_render_each(fmt, params, region, account))
        if not required and out:
            break  # optional types: the first one the request names is the resource
    return list(dict.fromkeys(out)) or ["*"]


def resolve(service: str, operation: str, params: dict[str, Any], region: str, account: str) -> tuple[str, list[str]]:
    action = action_for(service, operation)
    region_part = "" if service in ("iam",) else region
    return action, resources_for(service, action, params, region_part, account)
