"""Bring restored Lambda functions back: Active and cold (no environment runs yet).

A version whose preparation a restart interrupted is prepared again; one whose code
package is gone from the data dir is Failed with the reason, as AWS shows a function
it cannot run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudlet.services.lambda_.models import FunctionVersion

if TYPE_CHECKING:
    from cloudlet.services.lambda_.provider import LambdaProvider


def _versions(provider: LambdaProvider) -> list[FunctionVersion]:
    out: list[FunctionVersion] = []
    for _, st in provider.store.items():
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
            provider._bg(provider._prepare(fv, updating=fv.state != "Pending"))
    for (account, region), _ in provider.store.items():
        provider.store.changed(account, region, "functions")
    provider.world.persistence.flush()
