"""How an invoke and an execution environment end: typed, not tuples and strings."""

from __future__ import annotations

import dataclasses
import enum


class EnvState(enum.Enum):
    STARTING = "starting"  # process started, runtime not yet asking for work
    IDLE = "idle"  # warm, waiting for an invoke
    BUSY = "busy"  # serving an invoke
    DYING = "dying"  # killed, exit not yet seen
    DEAD = "dead"


class OutcomeKind(enum.Enum):
    OK = "ok"  # the runtime posted a response
    ERROR = "error"  # the runtime posted a function error
    INIT_ERROR = "init"  # the runtime reported an init error
    EXIT = "exit"  # the runtime process ended mid-invoke
    TIMEOUT = "timeout"  # the function ran past its timeout and was stopped
    OUT_OF_MEMORY = "oom"  # the environment went past MemorySize and was stopped


@dataclasses.dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    body: bytes  # the response, the error document, or the exit reason
    error_type: str | None = None

    @property
    def killed_environment(self) -> bool:
        """The environment cannot serve again after this."""
        return self.kind not in (OutcomeKind.OK, OutcomeKind.ERROR)
