"""The AWS managed policies cloudlet knows (documents in aws_managed_policies.json)."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
from pathlib import Path

from cloudlet.services.iam.model import ManagedPolicy, PolicyVersion

_DATA = Path(__file__).with_name("aws_managed_policies.json")


def _date(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _stable_policy_id(arn: str) -> str:
    # Same id on every run and in every account, as AWS managed policies have.
    digest = base64.b32encode(hashlib.sha256(arn.encode()).digest()).decode()
    return "ANPA" + digest[:17]


@functools.cache
def aws_managed_policies() -> dict[str, ManagedPolicy]:
    """ARN -> policy. Shared by all accounts; never mutated."""
    out: dict[str, ManagedPolicy] = {}
    for item in json.loads(_DATA.read_text()):
        version = PolicyVersion(
            item["DefaultVersionId"], json.dumps(item["Document"], indent=4), _date(item["UpdateDate"])
        )
        out[item["Arn"]] = ManagedPolicy(
            name=item["PolicyName"],
            path=item["Path"],
            id=_stable_policy_id(item["Arn"]),
            arn=item["Arn"],
            create_date=_date(item["CreateDate"]),
            update_date=_date(item["UpdateDate"]),
            default_version_id=item["DefaultVersionId"],
            versions={version.version_id: version},
            description=item["Description"],
            aws_managed=True,
        )
    return out
