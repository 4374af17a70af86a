"""Lambda's own log lines (INIT_START, START, END, REPORT) and a function's LoggingConfig applied.

With LogFormat Text they are the familiar tab-separated lines; with JSON they are the
records AWS writes (no END), in AWS's order and shapes as a real function's log shows them:
platform.initStart, platform.initRuntimeDone, platform.initReport (cold start), then per
invoke platform.start, platform.runtimeDone, platform.report. SystemLogLevel drops them
below its level (they are INFO records). ApplicationLogLevel
goes to the runtime as AWS_LAMBDA_LOG_LEVEL and also drops leveled records below it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import time
from typing import Any

from cloudlet.services.lambda_.validation import invalid

# Lambda's level names (TRACE is below DEBUG, FATAL is CRITICAL).
_LEVELS = {"TRACE": 5, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
           "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}


def settle_logging_config(cfg: dict[str, str]) -> dict[str, str]:
    """LoggingConfig as Lambda keeps it: levels only with JSON, where they default to INFO."""
    if cfg.get("LogFormat", "Text") != "JSON":
        if cfg.get("ApplicationLogLevel") or cfg.get("SystemLogLevel"):
            raise invalid('LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your '
                          'request or change the LogFormat to "JSON" and try again.')
        return cfg
    return {"ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", **cfg}


def _iso(t: float | None = None) -> str:
    d = datetime.datetime.fromtimestamp(time.time() if t is None else t, datetime.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclasses.dataclass(frozen=True)
class LogSettings:
    json: bool = False
    application_level: str = "INFO"
    system_level: str = "INFO"

    @classmethod
    def of(cls, logging_config: dict[str, str]) -> LogSettings:
        # Levels apply only with JSON (AWS refuses them with Text); both default to INFO.
        is_json = logging_config.get("LogFormat", "Text") == "JSON"
        if not is_json:
            return cls()
        return cls(True, logging_config.get("ApplicationLogLevel") or "INFO",
                   logging_config.get("SystemLogLevel") or "INFO")

    def runtime_environment(self) -> dict[str, str]:
        """What awslambdaric reads to format and filter the function's logging records."""
        if not self.json:
            return {}
        return {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": self.application_level}

    def keeps_application(self, level: int | None) -> bool:
        """A record of LEVEL reaches CloudWatch (printed text, with no level, always does)."""
        return not self.json or level is None or level >= _LEVELS.get(self.application_level, logging.INFO)

    def _keeps_system(self, level: int) -> bool:
        return level >= _LEVELS.get(self.system_level, logging.INFO)

    # ---- the platform's lines ------------------------------------------------------------
    def _record(self, kind: str, record: dict[str, Any]) -> str:
        return json.dumps({"time": _iso(), "type": kind, "record": record}, separators=(",", ":"))

    def init_start(self, runtime_version: str, runtime_version_arn: str, function_name: str,
                   version: str) -> str | None:
        if not self.json:
            return f"INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {runtime_version_arn}"
        if not self._keeps_system(logging.INFO):
            return None
        return self._record("platform.initStart", {
            "initializationType": "on-demand", "phase": "init", "runtimeVersion": runtime_version,
            "runtimeVersionArn": runtime_version_arn, "functionName": function_name, "functionVersion": version,
        })

    def init_done(self, status: str, duration_ms: float, error_type: str | None = None) -> list[str]:
        """The end of a cold start's INIT phase: platform.initRuntimeDone and platform.initReport
        (JSON only; Text reports INIT in REPORT's Init Duration)."""
        if not self.json or not self._keeps_system(logging.INFO):
            return []
        base: dict[str, Any] = {"initializationType": "on-demand", "phase": "init", "status": status}
        if error_type is not None:
            base["errorType"] = error_type
        return [self._record("platform.initRuntimeDone", dict(base)),
                self._record("platform.initReport", {**base, "metrics": {"durationMs": round(duration_ms, 3)}})]

    def start(self, request_id: str, version: str) -> str | None:
        if not self.json:
            return f"START RequestId: {request_id} Version: {version}"
        if not self._keeps_system(logging.INFO):
            return None
        return self._record("platform.start", {"requestId": request_id, "version": version})

    def runtime_done(self, request_id: str, status: str, started: float, duration_ms: float,
                     produced_bytes: int, error_type: str | None = None) -> str | None:
        """platform.runtimeDone (JSON only): the runtime's answer. STARTED: wall-clock time the event
        was handed over. A timed-out invoke has no spans and produced nothing, as AWS logs it."""
        if not self.json or not self._keeps_system(logging.INFO):
            return None
        record: dict[str, Any] = {"requestId": request_id, "status": status}
        if error_type is not None and status != "timeout":
            record["errorType"] = error_type
        if status != "timeout":
            record["spans"] = [
                {"name": "responseLatency", "start": _iso(started), "durationMs": round(duration_ms, 3)},
                {"name": "responseDuration", "start": _iso(started + duration_ms / 1000), "durationMs": 0.0},
            ]
        record["metrics"] = {"durationMs": round(duration_ms, 3),
                             "producedBytes": produced_bytes if status != "timeout" else 0}
        return self._record("platform.runtimeDone", record)

    def end(self, request_id: str) -> str | None:
        # JSON logs carry no END: platform.report closes the invoke.
        return None if self.json else f"END RequestId: {request_id}"

    def report(self, request_id: str, m: ReportMetrics) -> str | None:
        if not self.json:
            line = (f"REPORT RequestId: {request_id}\tDuration: {m.duration_ms:.2f} ms\t"
                    f"Billed Duration: {m.billed_ms} ms\tMemory Size: {m.memory_mb} MB\t"
                    f"Max Memory Used: {m.max_memory_mb} MB\t")
            if m.init_ms is not None:
                line += f"Init Duration: {m.init_ms:.2f} ms\t"
            if m.status != "success" and m.status != "error":
                line += f"Status: {m.status}\t"
            elif m.error_type is not None:
                line += f"Status: error\tError Type: {m.error_type}\t"
            return line
        if not self._keeps_system(logging.INFO):
            return None
        metrics: dict[str, Any] = {"durationMs": round(m.duration_ms, 3), "billedDurationMs": m.billed_ms,
                                   "memorySizeMB": m.memory_mb, "maxMemoryUsedMB": m.max_memory_mb}
        if m.init_ms is not None:
            metrics["initDurationMs"] = round(m.init_ms, 3)
        record: dict[str, Any] = {"requestId": request_id, "status": m.status}
        if m.error_type is not None:
            record["errorType"] = m.error_type
        record["metrics"] = metrics
        return self._record("platform.report", record)


@dataclasses.dataclass(frozen=True)
class ReportMetrics:
    duration_ms: float
    memory_mb: int
    max_memory_mb: int
    init_ms: float | None  # on a cold start
    status: str = "success"  # success, error (a function error), timeout, failure
    error_type: str | None = None  # set when the environment failed (Runtime.ExitError ...)

    @property
    def billed_ms(self) -> int:
        # AWS bills the INIT phase of managed runtimes too (since August 2025).
        return max(1, math.ceil(self.duration_ms + (self.init_ms or 0.0)))
