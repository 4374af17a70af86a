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
LAMBDA_API = "lambda_/test_lambda_api.snapshot.json"
LAMBDA_BEHAVIOUR = "lambda_/test_lambda.snapshot.json"
URL_OPERATIONS = {"create": "CreateFunctionUrlConfig", "get": "GetFunctionUrlConfig",
                  "delete": "DeleteFunctionUrlConfig", "update": "UpdateFunctionUrlConfig"}
URL_EXCEPTION_CASES = ("name_doesnotexist", "arn_doesnotexist", "name_doesnotexist_qualifier", "qualifier_version",
                       "qualifier_version_doesnotexist", "qualifier_alias_doesnotexist",
                       "qualifier_alias_doesnotmatch_arn", "qualifier_latest")
CLOUDWATCH = "cloudwatch/test_cloudwatch.snapshot.json"
# (test, parameter suffixes of its cbor runs, {recorded key: operation}); alarms, dashboards and
# the other CloudWatch APIs cloudlet does not implement are left out.
CLOUDWATCH_TESTS: list[tuple[str, list[str], dict[str, str]]] = [
    ("test_basic_operations_multiple_protocols", [""], {"get-metric-data": "GetMetricData"}),
    ("test_put_metric_data_values_list", [""], {"get_metric_statistics": "GetMetricStatistics"}),
    ("test_put_metric_data_validation", [""],
     {"invalid-param-combination": "PutMetricData", "invalid-param-value": "PutMetricData",
      "invalid-param-combination-2": "PutMetricData"}),
    ("test_get_metric_data_for_multiple_metrics", [""], {"get_metric_data": "GetMetricData"}),
    ("test_get_metric_data_stats", ["-Sum", "-SampleCount", "-Minimum", "-Maximum", "-Average"],
     {"get_metric_data": "GetMetricData"}),
    ("test_get_metric_data_with_dimensions", [""], {"get_metric_data": "GetMetricData"}),
    ("test_get_metric_data_with_zero_and_labels", [""], {"get_metric_data_with_zero_and_labels": "GetMetricData"}),
    ("test_get_metric_statistics", [""], {"get_metric_statistics": "GetMetricStatistics"}),
    ("test_handle_different_units", [""],
     {"get_metric_statistics_with_different_units": "GetMetricStatistics"}),
    ("test_get_metric_data_with_different_units", [""], {"get_metric_data_with_different_units": "GetMetricData"}),
    ("test_get_metric_data_different_units_no_unit_in_query", ["-metric_data0", "-metric_data1", "-metric_data2"],
     {"get_metric_data_with_no_unit_specified": "GetMetricData"}),
    ("test_label_generation", [f"-input_pairs{i}" for i in range(7)], {"label_generation": "GetMetricData"}),
    ("test_get_metric_with_null_dimensions", [""], {"get_metric_with_null_dimensions": "GetMetricData"}),
    ("test_get_metric_with_no_results", [""], {"result": "GetMetricData"}),
    ("test_multiple_dimensions_statistics", [""],
     {"get-metric-stats-max": "GetMetricData", "list-metrics": "ListMetrics"}),
    ("test_invalid_amount_of_datapoints", [""],
     {"error-invalid-amount-datapoints": "GetMetricStatistics", "error-invalid-time-frame": "GetMetricStatistics",
      "get-metric-statitics": "GetMetricStatistics"}),
]
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
    # Its other calls are service-specific credentials, which cloudlet does not implement.
    ("iam", "iam/test_iam.snapshot.json", "test_delete_user_after_service_credential_created",
     {"create-user-response": "CreateUser"}),
    # A policy CloudFormation made from a template without tags.
    ("iam", "iam/resource_providers/test_iam.snapshot.json", "test_managed_policy_with_empty_resource",
     {"managed_policy": "GetPolicy"}),
    # Recorded after CloudFormation made the user / its group memberships; the answer
    # does not depend on who made them.
    ("iam", "iam/resource_providers/test_iam.snapshot.json", "test_iam_username_defaultname",
     {"get_iam_user": "GetUser"}),
    ("iam", "iam/resource_providers/aws_iam_user/test_parity.snapshot.json", "test_create_with_full_properties",
     {"describe-user-group-association": "ListGroupsForUser"}),
    # A role CloudFormation made for a function: one AWS managed policy, one inline policy.
    ("iam", "cloudformation/resources/test_lambda.snapshot.json", "test_cfn_lambda_sqs_source",
     {"list_attached_role_policies_result": "ListAttachedRolePolicies",
      "list_inline_role_policies_result": "ListRolePolicies"}),
    # --- STS
    ("sts", "sts/test_sts.snapshot.json", "test_assume_role",
     {"create-role": "CreateRole", "assume-role": "AssumeRole"}),
    ("sts", "sts/test_sts.snapshot.json", "test_sts_invalid_parameters",
     {"malformed-arn": "AssumeRole", "no-partition": "AssumeRole", "no-service": "AssumeRole",
      "not-enough-colons": "AssumeRole", "no-resource": "AssumeRole", "invalid-session-name": "AssumeRole"}),
    ("sts", "sts/test_sts.snapshot.json", "test_assume_role_tag_validation",
     {"role-1": "CreateRole", "invalid-transitive-tag-keys": "AssumeRole",
      "duplicate-tag-keys-different-casing": "AssumeRole"}),
    ("sts", "sts/test_sts.snapshot.json", "test_iam_role_chaining_override_transitive_tags",
     {"role-1": "CreateRole", "role-2": "CreateRole", "override-transitive-tag-error": "AssumeRole",
      "override-transitive-tag-case-ignore-error": "AssumeRole"}),
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
    # --- CloudWatch metrics: the runs in smithy-rpc-v2-cbor, the protocol boto3 speaks (the json
    # and query runs record the same answers in those protocols; tests/protocol covers them).
    *[("cloudwatch", CLOUDWATCH, f"{test}[smithy-rpc-v2-cbor{param}]", keys)
      for test, params, keys in CLOUDWATCH_TESTS for param in params],
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
    # --- Lambda
    ("lambda", LAMBDA_API, "test_function_lifecycle",
     {"create_response/CreateFunctionResponse": "CreateFunction", "get_function_response": "GetFunction",
      "update_func_conf_response": "UpdateFunctionConfiguration",
      "get_function_response_postupdate": "GetFunction", "update_code_response": "UpdateFunctionCode",
      "get_function_response_postcodeupdate": "GetFunction", "delete_response": "DeleteFunction",
      "delete_postdelete": "DeleteFunction"}),
    ("lambda", LAMBDA_API, "test_ops_on_nonexisting_fn[get_function]", {"not_found_exception": "GetFunction"}),
    ("lambda", LAMBDA_API, "test_ops_on_nonexisting_fn[get_function_configuration]",
     {"not_found_exception": "GetFunctionConfiguration"}),
    ("lambda", LAMBDA_API, "test_ops_on_nonexisting_fn[get_function_concurrency]",
     {"not_found_exception": "GetFunctionConcurrency"}),
    ("lambda", LAMBDA_API, "test_ops_on_nonexisting_fn[delete_function]", {"not_found_exception": "DeleteFunction"}),
    ("lambda", LAMBDA_API, "test_ops_on_nonexisting_fn[get_function_url_config]",
     {"not_found_exception": "GetFunctionUrlConfig"}),
    ("lambda", LAMBDA_API, "test_ops_on_nonexisting_version[get_function]",
     {"version_not_found_exception": "GetFunction"}),
    ("lambda", LAMBDA_API, "test_ops_on_nonexisting_version[get_function_configuration]",
     {"version_not_found_exception": "GetFunctionConfiguration"}),
    ("lambda", LAMBDA_API, "test_delete_on_nonexisting_version",
     {"delete_function_response_non_existent": "DeleteFunction",
      "delete_function_response_non_existent_with_qualifier": "DeleteFunction"}),
    ("lambda", LAMBDA_API, "test_invalid_invoke", {"invoke_function_name_pattern_exc": "Invoke"}),
    ("lambda", LAMBDA_API, "test_function_concurrency_exceptions",
     {"put_function_concurrency_with_function_name_doesnotexist": "PutFunctionConcurrency",
      "put_function_concurrency_with_function_name_doesnotexist_and_invalid_concurrency": "PutFunctionConcurrency",
      "put_function_concurrency_with_qualified_arn": "PutFunctionConcurrency"}),
    ("lambda", LAMBDA_API, "test_function_concurrency",
     {"put_function_concurrency_with_reserved_0": "PutFunctionConcurrency",
      "put_function_concurrency_with_reserved_1": "PutFunctionConcurrency",
      "get_function_concurrency": "GetFunctionConcurrency", "delete_response": "DeleteFunctionConcurrency",
      "get_function_concurrency_after_delete": "GetFunctionConcurrency"}),
    ("lambda", LAMBDA_API, "test_version_lifecycle",
     {"create_response": "CreateFunction", "get_function_result": "GetFunction",
      "list_versions_result": "ListVersionsByFunction", "first_update_response": "UpdateFunctionConfiguration",
      "first_update_get_function": "GetFunction", "first_publish_response": "PublishVersion",
      "first_publish_get_function": "GetFunction", "first_publish_get_function_config": "GetFunctionConfiguration",
      "second_update_response": "UpdateFunctionConfiguration",
      "first_publish_get_function_after_update": "GetFunction", "second_publish_response": "PublishVersion",
      "third_publish_response": "PublishVersion",
      "list_versions_result_after_third_publish": "ListVersionsByFunction",
      "list_versions_result_after_deletion_of_first_version": "ListVersionsByFunction"}),
    ("lambda", LAMBDA_API, "test_publish_version_on_create",
     {"create_response": "CreateFunction", "get_function_result": "GetFunction",
      "get_function_version_result": "GetFunction", "get_function_latest_result": "GetFunction",
      "list_versions_result": "ListVersionsByFunction", "repeated_publish_response": "PublishVersion",
      "list_versions_result_after_publish": "ListVersionsByFunction"}),
    ("lambda", LAMBDA_API, "test_alias_lifecycle",
     {"create_response": "CreateFunction", "publish_v1": "PublishVersion", "publish_v2": "PublishVersion",
      "create_alias_1_1": "CreateAlias", "get_alias_1_1": "GetAlias", "get_function_alias_1_1": "GetFunction",
      "get_function_byarn_alias_1_1": "GetFunction", "get_function_alias_notfound_exc": "GetFunction",
      "get_function_alias_byarn_notfound_exc": "GetFunction", "create_alias_1_2": "CreateAlias",
      "get_alias_1_2": "GetAlias", "create_alias_1_3": "CreateAlias", "get_alias_1_3": "GetAlias",
      "create_alias_2": "CreateAlias", "get_alias_2": "GetAlias", "list_aliases_for_fnname": "ListAliases",
      "update_alias_1_1": "UpdateAlias", "get_alias_1_1_after_update": "GetAlias",
      "list_aliases_for_fnname_after_update": "ListAliases", "update_alias_1_2": "UpdateAlias",
      "get_alias_1_2_after_update": "GetAlias", "list_aliases_for_fnname_after_update_2": "ListAliases",
      "list_aliases_for_version": "ListAliases", "delete_alias_response": "DeleteAlias",
      "list_aliases_for_fnname_afterdelete": "ListAliases"}),
    ("lambda", LAMBDA_API, "test_list_functions",
     {"create_response_1/CreateFunctionResponse": "CreateFunction",
      "create_response_2/CreateFunctionResponse": "CreateFunction",
      "list_functions_invalid_functionversion": "ListFunctions", "list_all": "ListFunctions",
      "list_default": "ListFunctions"}),
    ("lambda", LAMBDA_API, "test_account_settings", {"acc_settings_modded": "GetAccountSettings"}),
    ("lambda", LAMBDA_API, "TestLambdaTag::test_tag_lifecycle",
     {"tag_single_response": "TagResource", "tag_single_response_listtags": "ListTags",
      "tag_multiple_response": "TagResource", "tag_multiple_response_listtags": "ListTags",
      "tag_overlap_response": "TagResource", "tag_overlap_response_listtags": "ListTags",
      "untag_single_response": "UntagResource", "untag_single_response_listtags": "ListTags",
      "untag_multiple_response": "UntagResource", "untag_multiple_response_listtags": "ListTags",
      "untag_nonexisting_response": "UntagResource", "untag_nonexisting_response_listtags": "ListTags",
      "untag_existing_and_nonexisting_response": "UntagResource",
      "untag_existing_and_nonexisting_response_listtags": "ListTags"}),
    ("lambda", LAMBDA_API, "test_add_lambda_permission_aws",
     {"create_lambda/CreateFunctionResponse": "CreateFunction", "add_permission": "AddPermission",
      "get_policy": "GetPolicy"}),
    ("lambda", LAMBDA_API, "test_remove_multi_permissions",
     {"add_permission_1": "AddPermission", "add_permission_2": "AddPermission", "policy_after_2_add": "GetPolicy",
      "remove_permission_exception_nonexisting_sid": "RemovePermission", "policy_after_removal": "GetPolicy",
      "policy_after_removal_attempt": "GetPolicy", "get_policy_exception_removed_all": "GetPolicy"}),
    ("lambda", LAMBDA_API, "test_create_lambda_exceptions",
     {"invalid_role_arn_exc": "CreateFunction", "invalid_runtime_exc": "CreateFunction",
      "uppercase_runtime_exc": "CreateFunction", "multiple_architectures": "CreateFunction",
      "uppercase_architecture": "CreateFunction", "invalid_zip_exc": "CreateFunction"}),
    ("lambda", LAMBDA_API, "test_update_lambda_exceptions",
     {"invalid_role_arn_exc": "UpdateFunctionConfiguration", "invalid_runtime_exc": "UpdateFunctionConfiguration",
      "uppercase_runtime_exc": "UpdateFunctionConfiguration"}),
    # Function URLs' configuration API.
    ("lambda", LAMBDA_API, "TestLambdaUrl::test_url_config_lifecycle",
     {"url_creation": "CreateFunctionUrlConfig", "failed_duplication": "CreateFunctionUrlConfig",
      "get_url_config": "GetFunctionUrlConfig", "updated_url_config": "UpdateFunctionUrlConfig",
      "failed_getter": "GetFunctionUrlConfig"}),
    ("lambda", LAMBDA_API, "TestLambdaUrl::test_url_config_list_paging",
     {"fn_version_result": "PublishVersion", "create_alias_result": "CreateAlias",
      "list_function_notfound": "ListFunctionUrlConfigs", "list_all_empty": "ListFunctionUrlConfigs",
      "url_config_fn": "CreateFunctionUrlConfig", "url_config_alias": "CreateFunctionUrlConfig",
      "list_all": "ListFunctionUrlConfigs"}),
    # Left out: delete_function_url_config_qualifier_alias_doesnotmatch_arn, an InternalFailure of
    # AWS's that the recording replaced by a placeholder (the test notes it as AWS's bug).
    ("lambda", LAMBDA_API, "TestLambdaUrl::test_url_config_exceptions",
     {"fn_version_result": "PublishVersion", "create_alias_result": "CreateAlias",
      **{f"{verb}_function_url_config_{case}": op
         for verb, op in URL_OPERATIONS.items() for case in URL_EXCEPTION_CASES
         if (verb, case) != ("delete", "qualifier_alias_doesnotmatch_arn")},
      **{f"{verb}_function_url_config_config_doesnotexist": op
         for verb, op in URL_OPERATIONS.items() if verb != "create"}}),
    ("lambda", LAMBDA_API, "TestLambdaUrl::test_url_config_deletion_without_qualifier",
     {"url_creation": "CreateFunctionUrlConfig", "url_with_alias_creation": "CreateFunctionUrlConfig",
      "get_url_config": "GetFunctionUrlConfig", "get_url_config_with_alias": "GetFunctionUrlConfig",
      "delete_function_url_config": "DeleteFunctionUrlConfig",
      "get_url_config_after_deletion": "GetFunctionUrlConfig",
      "get_url_config_with_alias_after_deletion": "GetFunctionUrlConfig"}),
    # Serving a RESPONSE_STREAM URL (a Node.js streamifyResponse handler): its status and body.
    ("lambda", LAMBDA_BEHAVIOUR, "TestLambdaURL::test_lambda_url_echo_invoke[RESPONSE_STREAM]",
     {"create_lambda_url_config": "CreateFunctionUrlConfig", "add_permission": "AddPermission"}),
    ("lambda", LAMBDA_BEHAVIOUR, "TestLambdaURL::test_function_url_with_response_streaming",
     {"response_status": "InvokeFunctionUrl", "response_data": "InvokeFunctionUrl"}),
    ("lambda", LAMBDA_BEHAVIOUR, "test_invocation_type_request_response[python3.10]", {"invoke-result": "Invoke"}),
    ("lambda", LAMBDA_BEHAVIOUR, "test_invocation_type_event[python3.10]", {"invoke-result": "Invoke"}),
    ("lambda", LAMBDA_BEHAVIOUR, "test_invocation_type_dry_run[python3.10]", {"invoke-result": "Invoke"}),
    ("lambda", LAMBDA_BEHAVIOUR, "test_lambda_handler_error", {"invocation_error": "Invoke"}),
    ("lambda", LAMBDA_BEHAVIOUR, "test_lambda_too_large_response",
     {"invoke_result": "Invoke", "invoke_result_2": "Invoke"}),
    # log_entries: what the invoke wrote to its log group, read with FilterLogEvents.
    ("lambda", LAMBDA_BEHAVIOUR, "test_request_id_invoke",
     {"invoke_result": "Invoke", "log_entries": "FilterLogEvents"}),
]


# Operations a test of one service calls on another (a Lambda test reading its logs).
OTHER_SERVICE = {"CreateRole": "iam", "FilterLogEvents": "logs"}


def owner_of(operation: str, service: str) -> str:
    return OTHER_SERVICE.get(operation, service) if service != "iam" else service


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
        # TEST is the test's name, or Class::name where two classes share a name.
        matches = [tid for tid in data if tid.split("::")[-1] == test or tid.endswith(f"::{test}")]
        if len(matches) != 1:
            raise SystemExit(f"{rel}: {len(matches)} tests named {test}")
        content = data[matches[0]]["recorded-content"]
        for key, operation in keys.items():
            value: Any = content
            for part in key.split("/"):
                value = value[part]
            recordings[f"{service}/{test}/{key}"] = {
                "service": owner_of(operation, service),
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
    ops = {(v["service"], v["operation"]) for v in result["recordings"].values()}
    print(f"{len(result['recordings'])} recordings of {len(ops)} operations -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
