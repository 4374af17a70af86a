"""Lambda's state: functions, their versions and aliases, per account and region."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import time
import uuid
from pathlib import Path
from typing import Any

LATEST = "$LATEST"


def lambda_timestamp(t: float | None = None) -> str:
    """Lambda's LastModified format: 2024-01-11T09:49:02.956+0000."""
    d = datetime.datetime.fromtimestamp(t, datetime.UTC) if t else datetime.datetime.now(
        datetime.UTC
    )
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+0000"


def new_revision() -> str:
    return str(uuid.uuid4())


@dataclasses.dataclass
class CodePackage:
    sha256_b64: str  # CodeSha256 as Lambda reports it
    sha256_hex: str  # names the zip and the task root on disk
    size: int  # CodeSize: bytes of the zip
    unzipped_size: int
    zip_path: Path
    task_root: Path


@dataclasses.dataclass
class FunctionVersion:
    """One version's configuration ($LATEST is mutable, published ones are not)."""

    name: str
    account_id: str
    region: str
    version: str
    runtime: str
    role: str
    handler: str
    code: CodePackage
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    environment: dict[str, str] | None = None
    vpc_config: dict[str, Any] | None = None  # VpcConfigResponse form (with VpcId)
    architectures: list[str] = dataclasses.field(default_factory=lambda: ["x86_64"])
    ephemeral_storage: int = 512
    logging_config: dict[str, str] = dataclasses.field(default_factory=dict)
    tracing_mode: str = "PassThrough"
    layers: list[str] = dataclasses.field(default_factory=list)
    last_modified: str = dataclasses.field(default_factory=lambda: lambda_timestamp())
    revision_id: str = dataclasses.field(default_factory=new_revision)
    # On a published version: the content digest of $LATEST it was cut from (PublishVersion's
    # Description may differ from $LATEST's own, so the version's fields cannot tell).
    source_digest: str = ""
    state: str = "Pending"
    state_reason: str | None = "The function is being created."
    state_reason_code: str | None = "Creating"
    # None until the first transition ends: CreateFunction's answer carries no LastUpdateStatus.
    last_update_status: str | None = None
    last_update_status_reason: str | None = None
    last_update_status_reason_code: str | None = None

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    @property
    def qualified_arn(self) -> str:
        return f"{self.function_arn}:{self.version}"

    @property
    def log_group(self) -> str:
        return self.logging_config.get("LogGroup") or f"/aws/lambda/{self.name}"

    def runtime_version_arn(self) -> str:
        import hashlib

        digest = hashlib.sha256(f"{self.runtime}".encode()).hexdigest()
        return f"arn:aws:lambda:{self.region}::runtime:{digest}"

    def publish_copy(self, version: str) -> FunctionVersion:
        fv = copy.deepcopy(self)
        fv.source_digest = self.content_digest()
        fv.version = version
        fv.revision_id = new_revision()
        fv.last_modified = lambda_timestamp()
        return fv

    def content_digest(self) -> str:
        """What publishing compares: the code and every configuration field, Description included."""
        import hashlib
        import json

        keys = (
            "runtime", "role", "handler", "description", "timeout", "memory_size",
            "environment", "vpc_config", "architectures", "ephemeral_storage",
            "logging_config", "tracing_mode", "layers",
        )
        data = json.dumps([self.code.sha256_hex, *(getattr(self, k) for k in keys)], sort_keys=True, default=str)
        return hashlib.sha256(data.encode()).hexdigest()

    def to_list_item(self, qualified: bool = False) -> dict[str, Any]:
        """ListFunctions' item: FunctionConfiguration without the fields Lambda documents as GetFunction's only."""
        out = self.to_config(qualified)
        for key in _NOT_LISTED:
            out.pop(key, None)
        return out

    def to_config(self, qualified: bool = False) -> dict[str, Any]:
        """FunctionConfiguration, as Lambda answers it ($LATEST's ARN unqualified unless QUALIFIED)."""
        out: dict[str, Any] = {
            "FunctionName": self.name,
            "FunctionArn": self.function_arn if self.version == LATEST and not qualified else self.qualified_arn,
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code.size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "LastModified": self.last_modified,
            "CodeSha256": self.code.sha256_b64,
            "Version": self.version,
            "TracingConfig": {"Mode": self.tracing_mode},
            "RevisionId": self.revision_id,
            "State": self.state,
            "PackageType": "Zip",
            "Architectures": list(self.architectures),
            "EphemeralStorage": {"Size": self.ephemeral_storage},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "RuntimeVersionConfig": {"RuntimeVersionArn": self.runtime_version_arn()},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": self.log_group, **{
                k: v for k, v in self.logging_config.items() if k != "LogGroup"
            }},
        }
        if self.environment is not None:
            out["Environment"] = {"Variables": dict(self.environment)}
        if self.vpc_config is not None:
            out["VpcConfig"] = copy.deepcopy(self.vpc_config)
        if self.layers:
            out["Layers"] = [{"Arn": a, "CodeSize": 0} for a in self.layers]
        for key, val in (
            ("StateReason", self.state_reason),
            ("StateReasonCode", self.state_reason_code),
            ("LastUpdateStatus", self.last_update_status),
            ("LastUpdateStatusReason", self.last_update_status_reason),
            ("LastUpdateStatusReasonCode", self.last_update_status_reason_code),
        ):
            if val is not None:
                out[key] = val
        return out


# "ListFunctions returns a subset of the FunctionConfiguration fields" (Lambda API reference, ListFunctions).
_NOT_LISTED = (
    "State", "StateReason", "StateReasonCode", "LastUpdateStatus", "LastUpdateStatusReason",
    "LastUpdateStatusReasonCode", "RuntimeVersionConfig",
)


@dataclasses.dataclass
class Alias:
    name: str
    function_version: str
    description: str = ""
    routing_config: dict[str, Any] | None = None
    revision_id: str = dataclasses.field(default_factory=new_revision)

    def to_config(self, function_arn: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AliasArn": f"{function_arn}:{self.name}",
            "Name": self.name,
            "FunctionVersion": self.function_version,
            "Description": self.description,
            "RevisionId": self.revision_id,
        }
        # An alias whose weights were emptied carries no RoutingConfig, as Lambda answers.
        if self.routing_config and self.routing_config.get("AdditionalVersionWeights"):
            out["RoutingConfig"] = copy.deepcopy(self.routing_config)
        return out


@dataclasses.dataclass
class EventInvokeConfig:
    """How asynchronous invokes of one qualifier are retried (PutFunctionEventInvokeConfig)."""

    maximum_retry_attempts: int | None = None
    maximum_event_age_s: int | None = None
    last_modified: float = dataclasses.field(default_factory=time.time)
    on_success: str | None = None  # destination ARNs (Lambda functions: cloudlet's only kind)
    on_failure: str | None = None

    def to_api(self, qualified_arn: str) -> dict[str, Any]:
        out: dict[str, Any] = {"LastModified": self.last_modified, "FunctionArn": qualified_arn}
        if self.maximum_retry_attempts is not None:
            out["MaximumRetryAttempts"] = self.maximum_retry_attempts
        if self.maximum_event_age_s is not None:
            out["MaximumEventAgeInSeconds"] = self.maximum_event_age_s
        out["DestinationConfig"] = {
            "OnSuccess": {"Destination": self.on_success} if self.on_success else {},
            "OnFailure": {"Destination": self.on_failure} if self.on_failure else {},
        }
        return out


@dataclasses.dataclass
class FunctionUrlConfig:
    """A function URL of one qualifier ($LATEST or an alias): CreateFunctionUrlConfig."""

    url_id: str  # 32 lowercase letters and digits: the host's first label
    auth_type: str  # NONE | AWS_IAM
    cors: dict[str, Any] | None = None
    invoke_mode: str | None = None  # None: never set, served (and reported by Get) as BUFFERED
    creation_time: str = dataclasses.field(default_factory=lambda: url_timestamp())
    last_modified_time: str = dataclasses.field(default_factory=lambda: url_timestamp())


def url_timestamp(t: float | None = None) -> str:
    """The function URL API's ISO-8601 times: 2024-01-11T09:49:02.956312Z."""
    d = datetime.datetime.fromtimestamp(t if t is not None else time.time(), datetime.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclasses.dataclass
class Function:
    latest: FunctionVersion
    versions: dict[str, FunctionVersion] = dataclasses.field(default_factory=dict)
    aliases: dict[str, Alias] = dataclasses.field(default_factory=dict)
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    reserved_concurrency: int | None = None
    next_version: int = 1
    # Resource-based policy statements per qualifier ($LATEST: the unqualified function).
    policies: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    # Asynchronous invoke settings per qualifier ($LATEST, a version or an alias).
    event_invoke_configs: dict[str, EventInvokeConfig] = dataclasses.field(default_factory=dict)
    # Function URLs per qualifier ($LATEST: the unqualified function, or an alias name).
    url_configs: dict[str, FunctionUrlConfig] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.latest.name


@dataclasses.dataclass
class PendingEvent:
    """An acknowledged asynchronous invoke not yet finished (its retries included): written
    before Invoke answers 202 so that a restart of cloudlet delivers it still."""

    request_id: str
    function_name: str
    qualifier: str | None
    invoked_arn: str
    payload_b64: str
    client_context: str | None = None
    attempts: int = 0  # attempts made that ended in a function error
    queued_at: float = dataclasses.field(default_factory=time.time)  # wall clock: survives a restart
    next_attempt_at: float = 0.0


@dataclasses.dataclass
class LambdaState:
    account_id: str
    region: str
    functions: dict[str, Function] = dataclasses.field(default_factory=dict)
    # Asynchronous invokes waiting for delivery or a retry, by request id.
    pending_events: dict[str, PendingEvent] = dataclasses.field(default_factory=dict)


def _persist_spec() -> Any:
    from cloudlet.core.store import Collection, PersistSpec

    # An invoke changes no record (environments are runtime-only; its log events go to the
    # logs journal; an Event invoke's queue entry is marked changed by event_invoke.py):
    # nothing to write after it, which keeps a warm invoke off the state file.
    return PersistSpec(collections=(Collection("functions", Function), Collection("pending_events", PendingEvent)),
                       skip_ops=frozenset({"Invoke"}))


PERSIST = _persist_spec()
