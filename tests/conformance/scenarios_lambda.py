"""Lambda scenarios: the calls of LocalStack's recorded Lambda tests, made on cloudlet."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from typing import Any

from botocore.config import Config

from conformance.recordings import Caller, scenario

ECHO = "def handler(event, context):\n    return event\n"
VERSION = "import os\n\ndef handler(event, context):\n    return os.environ.get('AWS_LAMBDA_FUNCTION_VERSION')\n"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
_roles: dict[int, str] = {}
LOG_TIME = re.compile(r"\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t")


def zipped(source: str, name: str = "handler.py") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, source)
    return buf.getvalue()


def role(c: Caller) -> str:
    """One Lambda execution role per client set (the recordings' lambda_su_role)."""
    key = id(c._make)
    if key not in _roles:
        _roles[key] = c.client("iam").create_role(RoleName=c.name("lambda-su-role"),
                                                  AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    return _roles[key]


def create(c: Caller, name: str, wait: bool = True, **params: Any) -> Any:
    """CreateFunction as LocalStack's create_lambda_function fixture makes it (python3.12 echo)."""
    lam = c.client("lambda")
    args: dict[str, Any] = {
        "FunctionName": name, "Runtime": "python3.12", "Handler": "handler.handler", "Role": role(c),
        "Code": {"ZipFile": zipped(ECHO)}, "Timeout": 30, "Environment": {"Variables": {}},
    }
    args.update(params)
    out = c.call(lam.create_function, **args)
    if wait:
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return out


def wait_updated(c: Caller, name: str) -> None:
    c.client("lambda").get_waiter("function_updated_v2").wait(FunctionName=name)


@scenario("lambda", "test_function_lifecycle")
def function_lifecycle(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("fn")
    out = {"create_response/CreateFunctionResponse": create(c, name, MemorySize=256, Timeout=5)}
    out["get_function_response"] = c.call(lam.get_function, FunctionName=name)
    out["update_func_conf_response"] = c.call(
        lam.update_function_configuration, FunctionName=name, Runtime="python3.11",
        Description="Changed-Description", MemorySize=512, Timeout=10, Environment={"Variables": {"ENV_A": "a"}})
    wait_updated(c, name)
    out["get_function_response_postupdate"] = c.call(lam.get_function, FunctionName=name)
    out["update_code_response"] = c.call(lam.update_function_code, FunctionName=name, ZipFile=zipped(VERSION))
    wait_updated(c, name)
    out["get_function_response_postcodeupdate"] = c.call(lam.get_function, FunctionName=name)
    out["delete_response"] = c.call(lam.delete_function, FunctionName=name)
    out["delete_postdelete"] = c.call(lam.delete_function, FunctionName=name)
    return out


def _nonexisting_fn(method: str) -> None:
    @scenario("lambda", f"test_ops_on_nonexisting_fn[{method}]")
    def run(c: Caller) -> dict[str, Any]:
        fn = getattr(c.client("lambda"), method)
        return {"not_found_exception": c.call(fn, FunctionName=c.name("i-dont-exist"))}


def _nonexisting_version(method: str) -> None:
    @scenario("lambda", f"test_ops_on_nonexisting_version[{method}]")
    def run(c: Caller) -> dict[str, Any]:
        name = c.name("i-exist")
        create(c, name, Description="Initial description")
        fn = getattr(c.client("lambda"), method)
        return {"version_not_found_exception": c.call(fn, FunctionName=name, Qualifier="1221")}


for _m in ("get_function", "get_function_configuration", "get_function_concurrency", "delete_function"):
    _nonexisting_fn(_m)
for _m in ("get_function", "get_function_configuration"):
    _nonexisting_version(_m)


@scenario("lambda", "test_delete_on_nonexisting_version")
def delete_nonexisting_version(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("i-exist")
    create(c, name, Description="Initial description")
    # On AWS deleting an unknown version of an existing function succeeds, twice.
    c.call(lam.delete_function, FunctionName=name, Qualifier="1233")
    c.call(lam.delete_function, FunctionName=name, Qualifier="1233")
    lam.delete_function(FunctionName=name)
    return {
        "delete_function_response_non_existent": c.call(lam.delete_function, FunctionName=name),
        "delete_function_response_non_existent_with_qualifier": c.call(lam.delete_function, FunctionName=name,
                                                                       Qualifier="1233"),
    }


@scenario("lambda", "test_invalid_invoke")
def invalid_invoke(c: Caller) -> dict[str, Any]:
    lam = c._make("lambda", config=Config(parameter_validation=False))
    return {"invoke_function_name_pattern_exc": c.call(
        lam.invoke, FunctionName="arn:aws:lambda:us-east-1:123400000000@function:myfn", Payload=b"{}")}


@scenario("lambda", "test_function_concurrency_exceptions")
def concurrency_exceptions(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    out = {
        "put_function_concurrency_with_function_name_doesnotexist": c.call(
            lam.put_function_concurrency, FunctionName="doesnotexist", ReservedConcurrentExecutions=1),
        "put_function_concurrency_with_function_name_doesnotexist_and_invalid_concurrency": c.call(
            lam.put_function_concurrency, FunctionName="doesnotexist", ReservedConcurrentExecutions=0),
    }
    name = c.name("lambda_func")
    create(c, name)
    arn = lam.get_function_configuration(FunctionName=name, Qualifier="$LATEST")["FunctionArn"]
    out["put_function_concurrency_with_qualified_arn"] = c.call(
        lam.put_function_concurrency, FunctionName=arn, ReservedConcurrentExecutions=0)
    return out


@scenario("lambda", "test_function_concurrency")
def function_concurrency(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("lambda_func")
    create(c, name)
    return {
        "put_function_concurrency_with_reserved_0": c.call(lam.put_function_concurrency, FunctionName=name,
                                                           ReservedConcurrentExecutions=0),
        "put_function_concurrency_with_reserved_1": c.call(lam.put_function_concurrency, FunctionName=name,
                                                           ReservedConcurrentExecutions=1),
        "get_function_concurrency": c.call(lam.get_function_concurrency, FunctionName=name),
        "delete_response": c.call(lam.delete_function_concurrency, FunctionName=name),
        "get_function_concurrency_after_delete": c.call(lam.get_function_concurrency, FunctionName=name),
    }


def create_raw(c: Caller, name: str, **params: Any) -> Any:
    """CreateFunction with only what the recorded test passed (create_lambda_function_aws), then
    wait, as that fixture does, until the function is no longer Pending."""
    lam = c.client("lambda")
    args: dict[str, Any] = {"FunctionName": name, "Handler": "index.handler", "Code": {"ZipFile": zipped(ECHO, "index.py")},
                            "PackageType": "Zip", "Role": role(c), "Runtime": "python3.12"}
    args.update(params)
    out = c.call(lam.create_function, **args)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return out


@scenario("lambda", "test_version_lifecycle")
def version_lifecycle(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("fn")
    out = {"create_response": create_raw(c, name, Description="No version :(")}
    out["get_function_result"] = c.call(lam.get_function, FunctionName=name)
    out["list_versions_result"] = c.call(lam.list_versions_by_function, FunctionName=name)
    out["first_update_response"] = c.call(lam.update_function_configuration, FunctionName=name,
                                          Description="First version :)")
    wait_updated(c, name)
    out["first_update_get_function"] = c.call(lam.get_function, FunctionName=name)
    first = c.call(lam.publish_version, FunctionName=name, Description="First version description :)")
    out["first_publish_response"] = first
    version = first.get("Version", "1")
    out["first_publish_get_function"] = c.call(lam.get_function, FunctionName=name, Qualifier=version)
    out["first_publish_get_function_config"] = c.call(lam.get_function_configuration, FunctionName=name,
                                                      Qualifier=version)
    out["second_update_response"] = c.call(lam.update_function_configuration, FunctionName=name,
                                           Description="Second version :))")
    wait_updated(c, name)
    out["first_publish_get_function_after_update"] = c.call(lam.get_function, FunctionName=name, Qualifier=version)
    out["second_publish_response"] = c.call(lam.publish_version, FunctionName=name)
    out["third_publish_response"] = c.call(lam.publish_version, FunctionName=name,
                                           Description="Third version description :)))")
    out["list_versions_result_after_third_publish"] = c.call(lam.list_versions_by_function, FunctionName=name)
    c.call(lam.delete_function, FunctionName=f"{name}:{version}")
    out["list_versions_result_after_deletion_of_first_version"] = c.call(lam.list_versions_by_function,
                                                                         FunctionName=name)
    return out


@scenario("lambda", "test_publish_version_on_create")
def publish_version_on_create(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("fn")
    out = {"create_response": create_raw(c, name, Publish=True)}
    out["get_function_result"] = c.call(lam.get_function, FunctionName=name)
    out["get_function_version_result"] = c.call(lam.get_function, FunctionName=name, Qualifier="1")
    out["get_function_latest_result"] = c.call(lam.get_function, FunctionName=name, Qualifier="$LATEST")
    out["list_versions_result"] = c.call(lam.list_versions_by_function, FunctionName=name)
    out["repeated_publish_response"] = c.call(lam.publish_version, FunctionName=name,
                                              Description="Repeated version description :)")
    out["list_versions_result_after_publish"] = c.call(lam.list_versions_by_function, FunctionName=name)
    return out


@scenario("lambda", "test_alias_lifecycle")
def alias_lifecycle(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("alias-fn")
    out = {"create_response": create_raw(c, name, Environment={"Variables": {"testenv": "staging"}})}
    out["publish_v1"] = c.call(lam.publish_version, FunctionName=name)
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"testenv": "prod"}})
    wait_updated(c, name)
    out["publish_v2"] = c.call(lam.publish_version, FunctionName=name)
    a11 = c.call(lam.create_alias, FunctionName=name, Name="aliasname1_1", FunctionVersion="1",
                 Description="custom-alias", RoutingConfig={"AdditionalVersionWeights": {"2": 0.2}})
    out["create_alias_1_1"] = a11
    out["get_alias_1_1"] = c.call(lam.get_alias, FunctionName=name, Name="aliasname1_1")
    out["get_function_alias_1_1"] = c.call(lam.get_function, FunctionName=name, Qualifier="aliasname1_1")
    alias_arn = a11.get("AliasArn", f"{name}:aliasname1_1")
    out["get_function_byarn_alias_1_1"] = c.call(lam.get_function, FunctionName=alias_arn)
    out["get_function_alias_notfound_exc"] = c.call(lam.get_function, FunctionName=name,
                                                    Qualifier="aliasdoesnotexist")
    out["get_function_alias_byarn_notfound_exc"] = c.call(
        lam.get_function, FunctionName=alias_arn.replace("aliasname1_1", "aliasdoesnotexist"))
    out["create_alias_1_2"] = c.call(lam.create_alias, FunctionName=name, Name="aliasname1_2", FunctionVersion="1",
                                     Description="custom-alias")
    out["get_alias_1_2"] = c.call(lam.get_alias, FunctionName=name, Name="aliasname1_2")
    out["create_alias_1_3"] = c.call(lam.create_alias, FunctionName=name, Name="aliasname1_3", FunctionVersion="1")
    out["get_alias_1_3"] = c.call(lam.get_alias, FunctionName=name, Name="aliasname1_3")
    out["create_alias_2"] = c.call(lam.create_alias, FunctionName=name, Name="aliasname2", FunctionVersion="2",
                                   Description="custom-alias")
    out["get_alias_2"] = c.call(lam.get_alias, FunctionName=name, Name="aliasname2")
    out["list_aliases_for_fnname"] = _sorted_aliases(
        lam.get_paginator("list_aliases").paginate(FunctionName=name, PaginationConfig={"PageSize": 1})
        .build_full_result())
    out["update_alias_1_1"] = c.call(lam.update_alias, FunctionName=name, Name="aliasname1_1",
                                     RoutingConfig={"AdditionalVersionWeights": {}})
    out["get_alias_1_1_after_update"] = c.call(lam.get_alias, FunctionName=name, Name="aliasname1_1")
    out["list_aliases_for_fnname_after_update"] = _sorted_aliases(c.call(lam.list_aliases, FunctionName=name))
    out["update_alias_1_2"] = c.call(lam.update_alias, FunctionName=name, Name="aliasname1_2")
    out["get_alias_1_2_after_update"] = c.call(lam.get_alias, FunctionName=name, Name="aliasname1_2")
    out["list_aliases_for_fnname_after_update_2"] = _sorted_aliases(c.call(lam.list_aliases, FunctionName=name))
    out["list_aliases_for_version"] = _sorted_aliases(c.call(lam.list_aliases, FunctionName=name,
                                                             FunctionVersion="1"))
    out["delete_alias_response"] = c.call(lam.delete_alias, FunctionName=name, Name="aliasname1_1")
    out["list_aliases_for_fnname_afterdelete"] = _sorted_aliases(c.call(lam.list_aliases, FunctionName=name))
    return out


def _sorted_aliases(response: dict[str, Any]) -> dict[str, Any]:
    # The recording sorted them by name (LocalStack's SortingTransformer).
    if "Aliases" in response:
        response["Aliases"] = sorted(response["Aliases"], key=lambda a: a["Name"])
    return response


@scenario("lambda", "test_list_functions")
def list_functions(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    first, second = c.name("list-fn-1"), c.name("list-fn-2")
    out = {"create_response_1/CreateFunctionResponse": create(c, first, Publish=True),
           "create_response_2/CreateFunctionResponse": create(c, second)}
    unvalidated = c._make("lambda", config=Config(parameter_validation=False))
    out["list_functions_invalid_functionversion"] = c.call(unvalidated.list_functions, FunctionVersion="invalid")
    pages = lam.get_paginator("list_functions")
    for key, extra in (("list_all", {"FunctionVersion": "ALL"}), ("list_default", {})):
        listed = pages.paginate(PaginationConfig={"PageSize": 1}, **extra).build_full_result()
        # Only this scenario's functions, sorted by ARN, as recorded.
        listed["Functions"] = sorted((f for f in listed["Functions"] if f["FunctionName"] in (first, second)),
                                     key=lambda f: f["FunctionArn"])
        out[key] = listed
    return out


@scenario("lambda", "test_account_settings")
def account_settings(c: Caller) -> dict[str, Any]:
    settings = c.call(c.client("lambda").get_account_settings)
    # Limits differ per account; the recording kept their names only.
    settings["AccountLimit"] = sorted(settings["AccountLimit"])
    settings["AccountUsage"] = sorted(settings["AccountUsage"])
    return {"acc_settings_modded": settings}


@scenario("lambda", "TestLambdaTag::test_tag_lifecycle")
def tag_lifecycle(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("tag-fn")
    arn = create(c, name)["FunctionArn"]
    out: dict[str, Any] = {}
    steps: list[tuple[str, Any, dict[str, Any]]] = [
        ("tag_single_response", lam.tag_resource, {"Tags": {"A": "tag-a"}}),
        ("tag_multiple_response", lam.tag_resource, {"Tags": {"B": "tag-b", "C": "tag-c"}}),
        ("tag_overlap_response", lam.tag_resource, {"Tags": {"C": "tag-c-newsuffix", "D": "tag-d"}}),
        ("untag_single_response", lam.untag_resource, {"TagKeys": ["A"]}),
        ("untag_multiple_response", lam.untag_resource, {"TagKeys": ["B", "C"]}),
        ("untag_nonexisting_response", lam.untag_resource, {"TagKeys": ["F"]}),
        ("untag_existing_and_nonexisting_response", lam.untag_resource, {"TagKeys": ["D", "F"]}),
    ]
    for key, method, params in steps:
        out[key] = c.call(method, Resource=arn, **params)
        out[f"{key}_listtags"] = c.call(lam.list_tags, Resource=arn)
    return out


S3_SOURCE = "arn:aws:s3:::test-bucket"


@scenario("lambda", "test_add_lambda_permission_aws")
def add_permission(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("lambda_func")
    out = {"create_lambda/CreateFunctionResponse": create(c, name)}
    out["add_permission"] = c.call(lam.add_permission, FunctionName=name, Action="lambda:InvokeFunction",
                                   StatementId="s3", Principal="s3.amazonaws.com", SourceArn=S3_SOURCE)
    out["get_policy"] = c.call(lam.get_policy, FunctionName=name)
    return out


@scenario("lambda", "test_remove_multi_permissions")
def remove_permissions(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("lambda_func")
    create(c, name)
    out = {
        "add_permission_1": c.call(lam.add_permission, FunctionName=name, Action="lambda:InvokeFunction",
                                   StatementId="s3", Principal="s3.amazonaws.com"),
        "add_permission_2": c.call(lam.add_permission, FunctionName=name, Action="lambda:InvokeFunction",
                                   StatementId="sqs", Principal="sqs.amazonaws.com", SourceArn=S3_SOURCE),
        "policy_after_2_add": c.call(lam.get_policy, FunctionName=name),
        "remove_permission_exception_nonexisting_sid": c.call(lam.remove_permission, FunctionName=name,
                                                              StatementId="non-existent"),
    }
    c.call(lam.remove_permission, FunctionName=name, StatementId="sqs")
    out["policy_after_removal"] = c.call(lam.get_policy, FunctionName=name)
    attempt = c.call(lam.get_policy, FunctionName=name)
    out["policy_after_removal_attempt"] = attempt
    c.call(lam.remove_permission, FunctionName=name, StatementId="s3", RevisionId=attempt.get("RevisionId", ""))
    out["get_policy_exception_removed_all"] = c.call(lam.get_policy, FunctionName=name)
    return out


@scenario("lambda", "test_create_lambda_exceptions")
def create_exceptions(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("invalid-function")
    code = {"ZipFile": zipped(ECHO, "index.py")}
    base = {"FunctionName": name, "Handler": "index.handler", "Code": code, "PackageType": "Zip"}
    return {
        "invalid_role_arn_exc": c.call(lam.create_function, **base, Role="r1", Runtime="python3.12"),
        "invalid_runtime_exc": c.call(lam.create_function, **base, Role=role(c), Runtime="non-existent-runtime"),
        "uppercase_runtime_exc": c.call(lam.create_function, **base, Role=role(c), Runtime="PYTHON3.9"),
        "multiple_architectures": c.call(lam.create_function, **base, Role=role(c), Runtime="python3.12",
                                         Architectures=["x86_64", "arm64"]),
        "uppercase_architecture": c.call(lam.create_function, **base, Role=role(c), Runtime="python3.12",
                                         Architectures=["X86_64"]),
        "invalid_zip_exc": c.call(lam.create_function, **{**base, "Code": {"ZipFile": b"this is not a zipfile, "
                                                                                       b"just a random string"}},
                                  Role=role(c), Runtime="python3.9"),
    }


@scenario("lambda", "test_update_lambda_exceptions")
def update_exceptions(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("invalid-function")
    create_raw(c, name)
    update = lam.update_function_configuration
    return {
        "invalid_role_arn_exc": c.call(update, FunctionName=name, Role="r1"),
        "invalid_runtime_exc": c.call(update, FunctionName=name, Runtime="non-existent-runtime"),
        "uppercase_runtime_exc": c.call(update, FunctionName=name, Runtime="PYTHON3.9"),
    }


def _invoke_echo(invocation_type: str) -> None:
    @scenario("lambda", f"test_invocation_type_{_TYPE_TESTS[invocation_type]}[python3.10]")
    def run(c: Caller) -> dict[str, Any]:
        name = c.name("echo-func")
        arn = create(c, name, Runtime="python3.10")["FunctionArn"]
        return {"invoke-result": c.call(c.client("lambda").invoke, FunctionName=arn, Payload=b"{}",
                                        InvocationType=invocation_type)}


_TYPE_TESTS = {"RequestResponse": "request_response", "Event": "event", "DryRun": "dry_run"}
for _t in _TYPE_TESTS:
    _invoke_echo(_t)


@scenario("lambda", "test_lambda_handler_error")
def handler_error(c: Caller) -> dict[str, Any]:
    source = 'def handler(event, context):\n    raise Exception("Handler fails")\n'
    name = c.name("test-function")
    create(c, name, Code={"ZipFile": zipped(source, "lambda_handler_error.py")},
           Handler="lambda_handler_error.handler")
    return {"invocation_error": c.call(c.client("lambda").invoke, FunctionName=name)}


@scenario("lambda", "test_lambda_too_large_response")
def too_large_response(c: Caller) -> dict[str, Any]:
    source = 'def handler(event, context):\n    print("generating bytes...")\n    return "a" * event["bytenum"]\n'
    name = c.name("large_payload")
    create(c, name, Code={"ZipFile": zipped(source)})
    payload = json.dumps({"bytenum": 7 * 1024 * 1024}).encode()
    lam = c.client("lambda")
    return {"invoke_result": c.call(lam.invoke, FunctionName=name, Payload=payload),
            "invoke_result_2": c.call(lam.invoke, FunctionName=name, Payload=payload)}


@scenario("lambda", "test_request_id_invoke")
def request_id_invoke(c: Caller) -> dict[str, Any]:
    source = ("import logging\n\nlog = logging.getLogger()\nlog.setLevel(logging.INFO)\n\n\n"
              "def handler(event, context):\n    log.info('RequestId log message')\n"
              "    return context.aws_request_id\n")
    name = c.name("test_lambda")
    create(c, name, Code={"ZipFile": zipped(source)})
    result = c.call(c.client("lambda").invoke, FunctionName=name)
    logs = c.client("logs")
    lines: list[str] = []
    for _ in range(40):
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        # The recording replaced each line's time with "date" (in AWS's own format only).
        lines = [LOG_TIME.sub("\tdate\t", e["message"].rstrip()) for e in events if "RequestId" in e["message"]]
        if any(line.startswith("REPORT") for line in lines):
            break
        time.sleep(0.25)
    return {"invoke_result": result, "log_entries": {"logs": lines},
            "_bind": {"request-id": result["ResponseMetadata"]["RequestId"]}}


# ---- function URLs' configuration API ----------------------------------------------------------
NODE_ECHO = "exports.handler = async (event) => event;\n"
URL_VERBS = {"create": "create_function_url_config", "get": "get_function_url_config",
             "delete": "delete_function_url_config", "update": "update_function_url_config"}


def create_node(c: Caller, name: str) -> Any:
    """The Node.js function LocalStack's URL tests make (create_lambda_function, nodejs20.x)."""
    return create(c, name, Runtime="nodejs20.x", Handler="lambda_handler.handler",
                  Code={"ZipFile": zipped(NODE_ECHO, "lambda_handler.js")})


_nonexisting_fn("get_function_url_config")


@scenario("lambda", "TestLambdaUrl::test_url_config_lifecycle")
def url_config_lifecycle(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("test-function")
    create_node(c, name)
    out = {"url_creation": c.call(lam.create_function_url_config, FunctionName=name, AuthType="NONE")}
    out["failed_duplication"] = c.call(lam.create_function_url_config, FunctionName=name, AuthType="NONE")
    out["get_url_config"] = c.call(lam.get_function_url_config, FunctionName=name)
    out["updated_url_config"] = c.call(lam.update_function_url_config, FunctionName=name, AuthType="AWS_IAM")
    c.call(lam.delete_function_url_config, FunctionName=name)
    out["failed_getter"] = c.call(lam.get_function_url_config, FunctionName=name)
    return out


def _url_function_with_alias(c: Caller, alias: str) -> tuple[str, dict[str, Any]]:
    lam = c.client("lambda")
    name = c.name("test-function")
    create_node(c, name)
    out = {"fn_version_result": c.call(lam.publish_version, FunctionName=name)}
    out["create_alias_result"] = c.call(lam.create_alias, FunctionName=name, Name=alias,
                                        FunctionVersion=out["fn_version_result"]["Version"])
    return name, out


@scenario("lambda", "TestLambdaUrl::test_url_config_list_paging")
def url_config_list_paging(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name, out = _url_function_with_alias(c, "urlalias")
    out["list_function_notfound"] = c.call(lam.list_function_url_configs, FunctionName="doesnotexist")
    out["list_all_empty"] = c.call(lam.list_function_url_configs, FunctionName=name)
    out["url_config_fn"] = c.call(lam.create_function_url_config, FunctionName=name, AuthType="NONE")
    out["url_config_alias"] = c.call(lam.create_function_url_config, FunctionName=f"{name}:urlalias",
                                     Qualifier="urlalias", AuthType="NONE")
    listed = c.call(lam.list_function_url_configs, FunctionName=name)
    # The recording sorted the list by FunctionArn (AWS's order is not defined).
    listed["FunctionUrlConfigs"].sort(key=lambda x: x["FunctionArn"])
    out["list_all"] = listed
    # Paging, as the recorded test checks it.
    one = lam.list_function_url_configs(FunctionName=name, MaxItems=1)
    two = lam.list_function_url_configs(FunctionName=name, MaxItems=1, Marker=one["NextMarker"])
    assert len(one["FunctionUrlConfigs"]) == len(two["FunctionUrlConfigs"]) == 1
    assert one["FunctionUrlConfigs"][0]["FunctionUrl"] != two["FunctionUrlConfigs"][0]["FunctionUrl"]
    return out


@scenario("lambda", "TestLambdaUrl::test_url_config_exceptions")
def url_config_exceptions(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    alias = "urlalias"
    name, out = _url_function_with_alias(c, alias)
    fn_arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    cases: dict[str, dict[str, Any]] = {
        "name_doesnotexist": {"FunctionName": "doesnotexist"},
        "arn_doesnotexist": {"FunctionName": fn_arn.replace(name, "doesnotexist")},
        "name_doesnotexist_qualifier": {"FunctionName": "doesnotexist", "Qualifier": "1"},
        "qualifier_version": {"FunctionName": name, "Qualifier": "1"},
        "qualifier_version_doesnotexist": {"FunctionName": name, "Qualifier": "2"},
        "qualifier_alias_doesnotexist": {"FunctionName": name, "Qualifier": "v1"},
        "qualifier_alias_doesnotmatch_arn": {"FunctionName": f"{name}:{alias}-doesnotmatch", "Qualifier": alias},
        "qualifier_latest": {"FunctionName": name, "Qualifier": "$LATEST"},
    }
    extra = {"create": {"AuthType": "NONE"}, "update": {"AuthType": "AWS_IAM"}}
    for verb, method in URL_VERBS.items():
        calls = dict(cases)
        if verb != "create":
            calls["config_doesnotexist"] = {"FunctionName": name}
        for case, args in calls.items():
            out[f"{verb}_function_url_config_{case}"] = c.call(getattr(lam, method), **args, **extra.get(verb, {}))
    return out


@scenario("lambda", "TestLambdaUrl::test_url_config_deletion_without_qualifier")
def url_config_deletion_without_qualifier(c: Caller) -> dict[str, Any]:
    lam = c.client("lambda")
    name = c.name("alias-fn")
    create(c, name, Environment={"Variables": {"testenv": "staging"}})
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="test-alias", FunctionVersion="1", Description="custom-alias")
    out = {"url_creation": c.call(lam.create_function_url_config, FunctionName=name, AuthType="NONE")}
    out["url_with_alias_creation"] = c.call(lam.create_function_url_config, FunctionName=name, AuthType="NONE",
                                            Qualifier="test-alias")
    out["get_url_config"] = c.call(lam.get_function_url_config, FunctionName=name)
    out["get_url_config_with_alias"] = c.call(lam.get_function_url_config, FunctionName=name, Qualifier="test-alias")
    out["delete_function_url_config"] = c.call(lam.delete_function_url_config, FunctionName=name)
    out["get_url_config_after_deletion"] = c.call(lam.get_function_url_config, FunctionName=name)
    out["get_url_config_with_alias_after_deletion"] = c.call(lam.get_function_url_config, FunctionName=name,
                                                             Qualifier="test-alias")
    return out
