"""Bring restored Lambda functions back: Active and cold (no environment runs yet), and
the asynchronous invokes acknowledged before the restart back in delivery.

A version whose preparation a restart interrupted is prepared again, a missing task
root is unpacked again from its zip; a version whose zip is gone from the data dir
is Failed with the reason, as AWS shows a function it cannot run.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cloudlet.services.lambda_ import code as codepkg
from cloudlet.services.lambda_.event_invoke import resume_events
from cloudlet.services.lambda_.models import FunctionVersion

if TYPE_CHECKING:
    from cloudlet.services.lambda_.provider import LambdaProvider


def _versions(provider: LambdaProvider) -> list[FunctionVersion]:
    out: list[FunctionVersion] = []
    for st in provider.store.states():
        for fn in st.functions.values():
            out.append(fn.latest)
            out.extend(fn.versions.values())
    return out


async def revive(provider: LambdaProvider) -> None:
    for fv in _versions(provider):
        if not fv.code.zip_path.is_file():
            fv.state, fv.state_reason_code = "Failed", "InvalidZipFileException"
            fv.state_reason = f"cloudlet: the code package {fv.code.zip_path} is missing from the data dir."
        elif fv.state == "Pending" or fv.last_update_status == "InProgress":
            provider._transition(fv, updating=fv.state != "Pending")
        elif not fv.code.task_root.is_dir():
            await asyncio.to_thread(codepkg.unpack, fv.code)  # task roots are a cache of the zip
    provider.store.changed_all()
    provider.world.persistence.flush()
    resume_events(provider)
