"""The commands a serverless cache offers, as the proxy's refusals and as valkey ACL rules.

Source: ElastiCache user guide, "Supported and restricted Valkey, Memcached, and
Redis OSS commands" (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/SupportedCommands.html):
serverless caches support the commands listed there and nothing else. The list
below is that page's, command by command (subcommands where the page lists a
container's subcommands one by one). Everything else is refused twice:

  * at the endpoint: a top-level command the list lacks is answered "unknown
    command", a subcommand it lacks "unknown subcommand" (what users report
    ElastiCache answering, e.g. "ERR unknown command 'keys', with args beginning with: *");
  * inside valkey: every ACL user cloudlet creates gets `-cmd` / `-cmd|sub` rules
    for them (acl_restrictions), so no other path (EVAL, MULTI) reaches them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def _names(text: str) -> list[str]:
    return text.split()


# name -> None (the whole command) or the subcommands offered.
SUPPORTED: dict[str, frozenset[str] | None] = {
    name: None
    for name in _names(
        # Bitmap
        "bitcount bitfield bitfield_ro bitop bitpos getbit setbit "
        # Cluster management (CLUSTER's subcommands below)
        "readonly readwrite "
        # Connection management
        "auth echo hello ping quit reset select "
        # Generic
        "copy del dump exists expire expireat expiretime persist pexpire pexpireat pexpiretime pttl "
        "randomkey rename renamenx restore scan sort sort_ro touch ttl type unlink "
        # Geospatial
        "geoadd geodist geohash geopos georadius georadius_ro georadiusbymember georadiusbymember_ro "
        "geosearch geosearchstore "
        # Hash
        "hdel hexists hget hgetall hincrby hincrbyfloat hkeys hlen hmget hmset hrandfield hscan hset "
        "hsetnx hstrlen hvals "
        # HyperLogLog
        "pfadd pfcount pfmerge "
        # List
        "blmove blmpop blpop brpop brpoplpush lindex linsert llen lmove lmpop lpop lpos lpush lpushx "
        "lrange lrem lset ltrim rpop rpoplpush rpush rpushx "
        # Pub/Sub
        "publish spublish ssubscribe subscribe sunsubscribe unsubscribe "
        # Scripting
        "eval eval_ro evalsha evalsha_ro "
        # Server management
        "dbsize flushall flushdb info lolwut role time "
        # Set
        "sadd scard sdiff sdiffstore sinter sintercard sinterstore sismember smembers smismember smove "
        "spop srandmember srem sscan sunion sunionstore "
        # Sorted set
        "bzmpop bzpopmax bzpopmin zadd zcard zcount zdiff zdiffstore zincrby zinter zintercard "
        "zinterstore zlexcount zmpop zmscore zpopmax zpopmin zrandmember zrange zrangebylex "
        "zrangebyscore zrangestore zrank zrem zremrangebylex zremrangebyrank zremrangebyscore "
        "zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunion zunionstore "
        # Stream
        "xack xadd xautoclaim xclaim xdel xlen xpending xrange xread xreadgroup xrevrange xtrim "
        # String
        "append decr decrby get getdel getex getrange getset incr incrby incrbyfloat lcs mget mset "
        "msetnx psetex set setex setnx setrange strlen substr "
        # Transactions
        "discard exec multi"
    )
}
SUPPORTED.update(
    {
        "acl": frozenset({"cat", "genpass", "getuser", "list", "users", "whoami"}),
        "client": frozenset({"getname", "reply", "setname"}),
        "cluster": frozenset(
            {"countkeysinslot", "getkeysinslot", "info", "keyslot", "myid", "nodes", "replicas", "shards",
             "slots", "slot-stats"}
        ),
        "command": frozenset({"count", "docs", "getkeys", "getkeysandflags", "info", "list"}),
        "pubsub": frozenset({"channels", "numsub", "shardchannels", "shardnumsub"}),
        "script": frozenset({"exists", "flush", "load", "show"}),
        "xgroup": frozenset({"create", "createconsumer", "delconsumer", "destroy", "setid"}),
        "xinfo": frozenset({"consumers", "groups", "stream"}),
    }
)

# Containers the endpoint looks into, to refuse the subcommands serverless lacks.
PARTIAL: dict[bytes, frozenset[bytes]] = {
    name.upper().encode(): frozenset(s.upper().encode() for s in subs)
    for name, subs in SUPPORTED.items()
    if subs is not None
}

# Valkey 8's top-level commands the list lacks: the endpoint answers them "unknown command"
# itself. (A newer valkey's extra commands are still refused by the ACL rules, with NOPERM.)
NOT_OFFERED: frozenset[bytes] = frozenset(
    name.upper().encode()
    for name in _names(
        "asking bgrewriteaof bgsave config debug failover fcall fcall_ro function keys lastsave "
        "latency memory migrate module monitor move object pfdebug pfselftest psubscribe psync "
        "punsubscribe replconf replicaof restore-asking save shutdown slaveof slowlog swapdb sync "
        "unwatch wait waitaof watch xsetid"
    )
)


def command_table(command_list: Sequence[str]) -> dict[str, list[str]]:
    """COMMAND LIST's names (top-level and "cmd|sub") -> {command: [subcommands]}."""
    table: dict[str, list[str]] = {}
    for entry in command_list:
        top, _, sub = entry.lower().partition("|")
        subs = table.setdefault(top, [])
        if sub:
            subs.append(sub)
    return table


def acl_restrictions(table: Mapping[str, Sequence[str]]) -> list[str]:
    """The ACL rules that take away, after a user's own rules, what serverless does not offer."""
    rules: list[str] = []
    for top in sorted(table):
        offered = SUPPORTED.get(top, frozenset())
        if offered is None:
            continue
        subs = table[top]
        if not offered or not subs:
            rules.append(f"-{top}")
            continue
        rules.extend(f"-{top}|{sub}" for sub in sorted(subs) if sub not in offered)
    return rules
