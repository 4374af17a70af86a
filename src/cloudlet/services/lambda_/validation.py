"""Lambda's create/update checks that the model's shapes cannot express."""

from __future__ import annotations

import functools
import re
from typing import Any

from cloudlet.core.errors import AWSError

# Runtimes AWS no longer accepts for creating or updating functions.
DEPRECATED_RUNTIMES = {
    "nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
    "nodejs16.x", "nodejs4.3-edge", "java8", "python2.7", "python3.6", "python3.7", "python3.8",
    "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "go1.x",
    "ruby2.5", "ruby2.7", "provided",
}
_SUCCESSOR = {"python": "python3.13", "nodejs": "nodejs22.x", "ruby": "ruby3.4", "dotnet": "dotnet8",
              "java": "java21", "go": "provided.al2023", "provided": "provided.al2023"}

_NAME = re.compile(r"[a-zA-Z0-9-_]+")
_RESERVED_ENV = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}


# The runtimes Lambda names when it refuses an unknown one, in the order it names them (its answer
# recorded on 2025-11-25, tests/conformance/aws_recordings.json): those a function can be created with.
CREATABLE_RUNTIMES = (
    "nodejs20.x", "python3.14", "provided.al2023", "python3.12", "python3.13", "nodejs24.x", "nodejs22.x",
    "java25", "python3.10", "python3.11", "java21", "ruby3.3", "ruby3.4", "ruby3.2", "python3.8", "python3.9",
    "java17", "nodejs16.x", "dotnet10", "dotnet8", "java11", "dotnet6", "nodejs18.x", "provided.al2", "java8.al2",
)


@functools.cache
def runtimes() -> tuple[str, ...]:
    """The Runtime enum of the installed botocore model (the wire spec)."""
    from cloudlet.protocol.registry import load_model

    return tuple(load_model("lambda").shape_for("Runtime").enum)


def invalid(message: str) -> AWSError:
    return AWSError("InvalidParameterValueException", message, status=400)


def precondition_failed() -> AWSError:
    """A RevisionId that is not the function's, version's or alias's current one."""
    return AWSError(
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
        "API to retrieve the latest Revision Id",
        status=412,
    )


def check_runtime(runtime: str | None) -> None:
    if runtime is None:
        raise invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
    if runtime not in runtimes():
        raise invalid(
            f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(CREATABLE_RUNTIMES)}] or be a valid ARN"
        )
    if runtime in DEPRECATED_RUNTIMES:
        family = re.match(r"[a-z]+", runtime)
        successor = _SUCCESSOR.get(family.group(0) if family else "", "a supported runtime")
        raise invalid(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating "
            f"AWS Lambda functions. We recommend you use the new runtime ({successor}) while "
            "creating or updating functions."
        )


def check_handler(handler: str | None) -> None:
    # Mandatory for zip functions: a cross-member rule the model cannot express (its pattern it checks).
    if handler is None:
        raise invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")


def check_limits(params: dict[str, Any]) -> None:
    timeout = params.get("Timeout")
    if timeout is not None and not 1 <= timeout <= 900:
        raise AWSError(
            "ValidationException",
            f"1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy constraint: "
            "Member must have value less than or equal to 900" if timeout > 900 else
            f"1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
            status=400,
        )
    memory = params.get("MemorySize")
    if memory is not None and not 128 <= memory <= 10240:
        raise invalid(f"'MemorySize' value failed to satisfy constraint: Member must have value "
                      f"{'less than or equal to 10240' if memory > 10240 else 'greater than or equal to 128'}")
    storage = (params.get("EphemeralStorage") or {}).get("Size")
    if storage is not None and not 512 <= storage <= 10240:
        raise invalid("EphemeralStorage size must be between 512 and 10240 MB.")
    env = (params.get("Environment") or {}).get("Variables") or {}
    reserved = sorted(k for k in env if k in _RESERVED_ENV)
    if reserved:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    if sum(len(k) + len(v) for k, v in env.items()) > 4096:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided exceeded the 4KB limit."
        )


def check_function_name(name: str) -> None:
    if len(name) > 64 or not _NAME.fullmatch(name):
        raise AWSError(
            "ValidationException",
            f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
            "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
            "([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
            status=400,
        )
