"""Benchmark: CreateServerlessCache -> available latency, and RSS of idle caches.

Runs the real ElastiCacheProvider (real valkey-server processes, and the data
plane's TLS endpoints when that module is present) in-process, with a temporary
data dir and its own loopback net so it does not disturb a running cloudlet.

    PYTHONPATH=src python3 bench/bench_cache_create.py [--caches 20] [--net 127.79]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from cloudlet.config import Config
from cloudlet.core.context import RequestContext
from cloudlet.services.elasticache.provider import ElastiCacheProvider
from cloudlet.services.registry import build_world


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def main(count: int, net: str) -> None:
    with tempfile.TemporaryDirectory(prefix="cl-bench-") as tmp:
        world = build_world(Config.from_env({}, data_dir=Path(tmp), cache_net=net))
        ec = world.providers["elasticache"]
        assert isinstance(ec, ElastiCacheProvider)
        await ec.start()
        ctx = RequestContext("elasticache", "CreateServerlessCache", "us-east-1", world.root, "bench")
        st = ec.store.get(world.config.account_id, "us-east-1")
        latencies = []
        try:
            for i in range(count):
                name = f"bench-{i:02d}"
                t0 = time.perf_counter()
                await ec.create_serverless_cache(ctx, {"ServerlessCacheName": name, "Engine": "valkey"})
                while st.caches[name].status == "creating":
                    await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - t0)
                assert st.caches[name].status == "available", st.caches[name].failure
            await asyncio.sleep(1.0)  # let the caches go idle
            # Each cache is a primary valkey and its read replica.
            rss = [
                sum(rss_kib(p.pid) for p in c.process.processes() if p.pid)
                for c in st.caches.values()
                if c.process and c.process.pid
            ]
            print(f"caches created:            {count}")
            print(f"create -> available:       median {statistics.median(latencies) * 1000:.1f} ms, "
                  f"max {max(latencies) * 1000:.1f} ms (goal < 500 ms; valkey's cluster mode alone waits 2 s before it takes writes)")
            print(f"valkey RSS per idle cache (primary + replica): median {statistics.median(rss) / 1024:.1f} MiB, "
                  f"total {sum(rss) / 1024:.1f} MiB for {len(rss)} caches")
        finally:
            await ec.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--caches", type=int, default=20)
    ap.add_argument("--net", default="127.79")
    args = ap.parse_args()
    asyncio.run(main(args.caches, args.net))
