"""Mirror a cache's user group into its valkey's ACL users.

Every ACL user's valkey password is backend_password(secret, name): clients never
know it; the data plane authenticates them and then AUTHs to valkey with it.
Every user's rules end with the commands serverless does not offer taken away
(dataplane.commands.acl_restrictions), so valkey itself refuses them on every
path: scripts, functions, transactions.
"""

from __future__ import annotations

import logging

from cloudlet.dataplane.commands import acl_restrictions, command_table
from cloudlet.dataplane.native_plane.renames import Renames
from cloudlet.dataplane.native_plane.valkey_native import NativeValkeyProcess
from cloudlet.dataplane.spec import ADMIN_USER, CacheUser, backend_password
from cloudlet.services.elasticache import access_strings
from cloudlet.services.elasticache.state import CacheUserRecord, ElastiCacheState, ServerlessCache
from cloudlet.services.elasticache.valkey_process import ValkeyProcess, acl_hash

log = logging.getLogger("cloudlet.elasticache.acl")

# AWS's default user on a cache without a user group: everything allowed.
OPEN_DEFAULT_RULES = "~* &* +@all"


def default_user_line(secret: bytes, native: bool = False) -> str:
    """The default user's rules (for the initial ACL file) on a cache with no user group.
    Natively valkey itself admits its clients: the open default user needs no AUTH there."""
    if native:
        return f"on nopass {OPEN_DEFAULT_RULES}"
    return f"on #{acl_hash(backend_password(secret, 'default'))} {OPEN_DEFAULT_RULES}"


def group_members(state: ElastiCacheState, cache: ServerlessCache) -> list[CacheUserRecord] | None:
    if cache.user_group_id is None:
        return None
    group = state.groups.get(cache.user_group_id)
    if group is None:
        return None
    return [state.users[u] for u in group.user_ids if u in state.users]


def setuser_args(
    secret: bytes, user_name: str, access_string: str, restrictions: list[str], renames: Renames | None = None
) -> list[str]:
    rules = access_strings.parse(access_string)
    if renames is not None:  # a native cache's valkey knows some commands by secret names only
        rules = renames.acl_rules(rules)
    # reset first so nothing of an earlier definition survives; the access string's own on/off wins;
    # the restrictions come last, so no rule of the user's can give those commands back.
    pw = f"#{acl_hash(backend_password(secret, user_name))}"
    return ["ACL", "SETUSER", user_name, "reset", "on", pw, *rules, *restrictions]


async def restrictions_of(proc: ValkeyProcess) -> list[str]:
    """The restriction rules for this valkey's own command table (asked once per process)."""
    if proc.acl_restrictions is None:
        names = await proc.client().command_list()
        text = [n.decode() if isinstance(n, bytes) else n for n in names]
        table = command_table(text)
        if isinstance(proc, NativeValkeyProcess):
            table = proc.link.renames.restrictable(table)
        proc.acl_restrictions = acl_restrictions(table)
    return proc.acl_restrictions


def endpoint_users(members: list[CacheUserRecord] | None) -> dict[str, CacheUser] | None:
    if members is None:
        return None
    return {
        u.user_name: CacheUser(
            user_id=u.user_id,
            user_name=u.user_name,
            arn=u.arn,
            auth_type=u.auth_type,  # type: ignore[arg-type]
            passwords=tuple(u.passwords),
            access_string=u.access_string,
            status=u.status,
        )
        for u in members
    }


async def sync(state: ElastiCacheState, cache: ServerlessCache) -> None:
    """Make the ACL users of the cache's valkeys (primary and replica: ACLs do not
    replicate) exactly its group's users (or the open default user)."""
    if cache.process is None:
        return
    members = group_members(state, cache)
    for proc in cache.process.processes():
        await _sync_one(proc, cache, members)


async def sync_replica(state: ElastiCacheState, cache: ServerlessCache, replica: ValkeyProcess) -> None:
    """A read replica just started (at the reader's first use): give it the cache's users."""
    await _sync_one(replica, cache, group_members(state, cache))


async def _sync_one(proc: ValkeyProcess, cache: ServerlessCache, members: list[CacheUserRecord] | None) -> None:
    client = proc.client()
    secret = cache.backend_secret
    restrictions = await restrictions_of(proc)
    renames = proc.link.renames if isinstance(proc, NativeValkeyProcess) else None
    wanted: set[str] = {ADMIN_USER, "default"}
    if members is None:
        args = setuser_args(secret, "default", "on " + OPEN_DEFAULT_RULES, restrictions, renames)
        if renames is not None:
            args[args.index(f"#{acl_hash(backend_password(secret, 'default'))}")] = "nopass"
        await client.execute_command(*args)
    else:
        has_default = False
        for user in members:
            wanted.add(user.user_name)
            has_default = has_default or user.user_name == "default"
            try:
                await client.execute_command(
                    *setuser_args(secret, user.user_name, user.access_string, restrictions, renames)
                )
            except Exception as e:  # valkey refused a rule (e.g. unknown command): user stays disabled
                log.error("cache %s: ACL SETUSER %s failed: %s", cache.name, user.user_name, e)
                await client.execute_command("ACL", "SETUSER", user.user_name, "reset", "off")
        if not has_default:
            # A group without a default-named user: nobody may use the default user.
            await client.execute_command("ACL", "SETUSER", "default", "reset", "off")
    for name in await client.execute_command("ACL", "USERS"):
        if name not in wanted:
            await client.execute_command("ACL", "DELUSER", name)
    await client.execute_command("ACL", "SAVE")
