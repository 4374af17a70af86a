"""Base class of a service provider: one method per model operation.

A provider method is named after the operation in snake_case
(botocore.xform_name: CreateRole -> create_role), takes (ctx, params) where
params is the parsed, validated input dict (model member names), and returns the
output dict (model member names) or raises AWSError. It may be async.
Operations without a method answer as not implemented (501).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore import xform_name

if TYPE_CHECKING:
    from cloudlet.core.world import World


class Provider:
    #: botocore service name, e.g. "iam".
    service: str = ""

    def __init__(self, world: World) -> None:
        self.world = world

    def handler_for(self, operation: str) -> Any | None:
        return getattr(self, xform_name(operation), None)

    # Lifecycle hooks the server calls; providers with background work override them.
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def health(self) -> str:
        return "running"
