#!/usr/bin/env python3
"""Regenerate tests/conformance/aws_recordings.json from a local LocalStack checkout.

LocalStack's ``*.snapshot.json`` files hold responses recorded against real AWS.
This picks, as data, the recorded responses of the operations cloudlet implements
(the SELECTION table below: snapshot file, test, recorded key -> operation) and
writes them, with where each came from, to one compact file the conformance suite
reads. It reads only the checkout it is given and downloads nothing.

    python scripts/extract_conformance_recordings.py /path/to/localstack [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "conformance" / "aws_recordings.json"
BASE = "tests/aws/services"

# (service, snapshot file under tests/aws/services, test name, {recorded key: operation}).
# A recorded key may name a nested response as "key/inner" (LocalStack's fixtures
# sometimes record a dict of responses).
Selection = tuple[str, str, str, dict[str, str]]
SELECTION: list[Selection] = [
    # --- IAM
    ("iam", "iam/test_iam.snapshot.json", "test_create_describe_role",
     {"create_role_result": "CreateRole", "get_role_result": "GetRole", "list_roles_result": "ListRoles"}),
    ("iam", "iam/test_iam.snapshot.json", "test_role_with_tags",
     {"create-role-response": "CreateRole", "get-role-response": "GetRole", "list-role-response": "ListRoles"}),
    ("iam", "iam/test_iam.snapshot.json", "test_role_with_path_lifecycle",
     {"create-role-response": "CreateRole", "get-role-response": "GetRole", "delete-role-response": "DeleteRole"}),
    ("iam", "iam/test_iam.snapshot.json", "test_update_assume_role_policy",
     {"created_role": "CreateRole", "updated_policy": "UpdateAssumeRolePolicy"}),
    ("iam", "iam/test_iam.snapshot.json", "test_create_role_with_malformed_assume_role_policy_document",
     {"invalid-json": "CreateRole"}),
    ("iam", "iam/test_iam.snapshot.json", "test_role_attach_policy",
     {"create_policy_response": "CreatePolicy", "non_existent_malformed_policy_arn": "AttachRolePolicy",
      "existing_policy_name_provided": "AttachRolePolicy", "valid_arn_not_existent": "AttachRolePolicy",
      "valid_policy_arn": "AttachRolePolicy"}),
    ("iam", "iam/test_iam.snapshot.json", "test_user_attach_policy",
     {"create_policy_response": "CreatePolicy", "non_existent_malformed_policy_arn": "AttachUserPolicy",
      "existing_policy_name_provided": "AttachUserPolicy", "valid_arn_not_existent": "AttachUserPolicy",
      "valid_policy_arn": "AttachUserPolicy"}),
    ("iam", "iam/test_iam.snapshot.json", "test_put_role_policy_encoding",
     {"create-role-response": "CreateRole", "get-policy-response": "GetRolePolicy",
      "get-role-response": "GetRole", "list-roles-response": "ListRoles"}),
    ("iam", "iam/test_iam.snapshot.json", "test_put_user_policy_encoding", {"get-policy-response": "GetUserPolicy"}),
    ("iam", "iam/test_iam.snapshot.json", "test_put_group_policy_encoding", {"get-policy-response": "GetGroupPolicy"}),
    ("iam", "iam/test_iam.snapshot.json", "test_delete_non_existent_policy_returns_no_such_entity",
     {"delete-non-existent-policy-exc": "DeletePolicy"}),
    ("iam", "iam/test_iam.snapshot.json", "test_list_roles_with_permission_boundary",
     {"created_role": "CreateRole", "list_roles_result": "ListRoles"}),
    # --- STS
    ("sts", "sts/test_sts.snapshot.json", "test_assume_role",
     {"create-role": "CreateRole", "assume-role": "AssumeRole"}),
    ("sts", "sts/test_sts.snapshot.json", "test_sts_invalid_parameters",
     {"malformed-arn": "AssumeRole", "no-partition": "AssumeRole", "no-service": "AssumeRole",
      "not-enough-colons": "AssumeRole", "no-resource": "AssumeRole", "invalid-session-name": "AssumeRole"}),
    # --- CloudWatch Logs
    ("logs", "logs/test_logs_groups.snapshot.json", "test_create_log_group_duplicate_error",
     {"error-duplicate-log-group": "CreateLogGroup"}),
    ("logs", "logs/test_logs_groups.snapshot.json", "test_create_log_group_invalid_name_length",
     {"error-invalid-name-length": "CreateLogGroup"}),
    ("logs", "logs/test_logs_groups.snapshot.json", "test_describe_log_groups_with_prefix",
     {"describe-log-groups-prefix": "DescribeLogGroups"}),
    ("logs", "logs/test_logs_groups.snapshot.json", "test_describe_log_groups_with_pattern",
     {"describe-log-groups-pattern": "DescribeLogGroups"}),
    ("logs", "logs/test_logs_groups.snapshot.json", "test_describe_log_groups_prefix_and_pattern_error",
     {"error-prefix-and-pattern": "DescribeLogGroups"}),
    ("logs", "logs/test_logs_groups.snapshot.json", "test_create_log_group_with_tags",
     {"list-tags-after-create": "ListTagsLogGroup"}),
    ("logs", "logs/test_logs_groups.snapshot.json", "test_tag_log_group", {"list-tags-after-tag": "ListTagsLogGroup"}),
    ("logs", "logs/test_logs_groups.snapshot.json", "test_untag_log_group",
     {"list-tags-after-untag": "ListTagsLogGroup"}),
    ("logs", "logs/test_logs_groups.snapshot.json", "test_tag_resource_api",
     {"list-tags-after-create": "ListTagsLogGroup",
      "list-tags-log-group-after-tag-resource": "ListTagsLogGroup",
      "list-tags-for-resource-after-tag-resource": "ListTagsForResource",
      "list-tags-log-group-after-tag-log-group": "ListTagsLogGroup",
      "list-tags-for-resource-after-tag-log-group": "ListTagsForResource",
      "list-tags-log-group-after-untag": "ListTagsLogGroup",
      "list-tags-for-resource-after-untag": "ListTagsForResource"}),
    ("logs", "logs/test_logs_streams.snapshot.json", "test_create_and_delete_log_stream",
     {"describe-log-streams-after-create": "DescribeLogStreams"}),
    ("logs", "logs/test_logs_streams.snapshot.json", "test_create_log_stream_duplicate_error",
     {"error-duplicate-log-stream": "CreateLogStream"}),
    ("logs", "logs/test_logs_streams.snapshot.json", "test_describe_log_streams_with_log_group_identifier",
     {"describe-streams-identifier-name": "DescribeLogStreams", "describe-streams-identifier-arn": "DescribeLogStreams",
      "error-both-name-and-identifier": "DescribeLogStreams"}),
    ("logs", "logs/test_logs_streams.snapshot.json", "test_describe_log_streams_with_prefix",
     {"describe-streams-with-prefix": "DescribeLogStreams"}),
    ("logs", "logs/test_logs_streams.snapshot.json", "test_log_stream_arn_format",
     {"describe-log-streams-with-arn": "DescribeLogStreams"}),
    ("logs", "logs/test_logs_events.snapshot.json", "test_put_log_events_to_invalid_stream",
     {"error-invalid-stream": "PutLogEvents"}),
    ("logs", "logs/test_logs_events.snapshot.json", "test_put_log_events_wrong_order",
     {"error-wrong-order": "PutLogEvents"}),
    ("logs", "logs/test_logs_events.snapshot.json", "test_put_log_events_too_old", {"response-too-old": "PutLogEvents"}),
    ("logs", "logs/test_logs_events.snapshot.json", "test_put_log_events_too_new", {"response-too-new": "PutLogEvents"}),
    ("logs", "logs/test_logs_events.snapshot.json", "test_get_log_events_invalid_token",
     {"error-invalid-token": "GetLogEvents"}),
    ("logs", "logs/test_logs_events.snapshot.json", "test_get_log_events_limit_validation",
     {"error-limit-exceeded": "GetLogEvents"}),
    ("logs", "logs/test_logs_events.snapshot.json", "test_resource_does_not_exist",
     {"error-log-group-does-not-exist": "GetLogEvents", "error-log-stream-does-not-exist": "GetLogEvents"}),
    ("logs", "logs/test_logs_filter_events.snapshot.json", "test_filter_log_events_limit_validation",
     {"error-limit-exceeded": "FilterLogEvents"}),
    ("logs", "logs/test_logs_filter_events.snapshot.json", "test_filter_log_events_unknown_token",
     {"invalid-token": "FilterLogEvents"}),
    # --- EC2 (what cloudlet implements of it: the default VPC's networking)
    ("ec2", "ec2/test_ec2.snapshot.json", "test_describe_availability_zones_filter_with_zone_names",
     {"availability_zones": "DescribeAvailabilityZones"}),
    ("ec2", "ec2/test_ec2.snapshot.json", "test_describe_availability_zones_filter_with_zone_ids",
     {"availability_zones": "DescribeAvailabilityZones"}),
    ("ec2", "ec2/test_ec2.snapshot.json", "test_describe_availability_zones_filters",
     {"availability_zones": "DescribeAvailabilityZones"}),
    # The test's own VPC comes from CreateVpc, which cloudlet does not implement; the
    # CreateSecurityGroup answer does not depend on which VPC it is.
    ("ec2", "ec2/test_ec2.snapshot.json", "test_get_security_groups_for_vpc",
     {"create_security_group": "CreateSecurityGroup"}),
]


def read_snapshot(checkout: Path, rel: str) -> dict[str, Any]:
    path = checkout / BASE / rel
    if path.exists():
        return json.loads(path.read_text())
    # A bare clone (no work tree): read the file from HEAD.
    out = subprocess.run(["git", "-C", str(checkout), "show", f"HEAD:{BASE}/{rel}"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def commit_of(checkout: Path) -> str:
    out = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def extract(checkout: Path) -> dict[str, Any]:
    snapshots: dict[str, dict[str, Any]] = {}
    recordings: dict[str, Any] = {}
    for service, rel, test, keys in SELECTION:
        data = snapshots.setdefault(rel, read_snapshot(checkout, rel))
        matches = [tid for tid in data if tid.split("::")[-1] == test]
        if len(matches) != 1:
            raise SystemExit(f"{rel}: {len(matches)} tests named {test}")
        content = data[matches[0]]["recorded-content"]
        for key, operation in keys.items():
            value: Any = content
            for part in key.split("/"):
                value = value[part]
            recordings[f"{service}/{test}/{key}"] = {
                "operation": operation,
                "source": f"{BASE}/{rel}::{matches[0].split('::', 1)[1]}",
                "recorded": data[matches[0]]["recorded-date"],
                "response": value,
            }
    return {
        "about": "Responses recorded against real AWS, taken as data from LocalStack's snapshot "
                 "files (github.com/localstack/localstack); regenerate with "
                 "scripts/extract_conformance_recordings.py.",
        "localstack_commit": commit_of(checkout),
        "recordings": recordings,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a LocalStack checkout (work tree or bare clone)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    result = extract(args.checkout)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    ops = {(k.split("/")[0], v["operation"]) for k, v in result["recordings"].items()}
    print(f"{len(result['recordings'])} recordings of {len(ops)} operations -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
