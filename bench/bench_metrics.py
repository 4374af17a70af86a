"""CloudWatch metrics cost, each against its CloudWatch Logs peer in the same run.

1. The invoke path: one emitted metric sample (world.metrics.emit, what an invoke does a
   dozen times) against shipping one log line (world.logs.append_events, what it does for
   each printed line), in process, ephemeral world.
2. Through the API of one real cloudlet with boto3 (signing included on both sides):
   PutMetricData with 20 points against PutLogEvents with 20 events, and GetMetricData of
   60 one-minute periods against GetLogEvents of 60 events. Calls alternate, p50 compared.

Prints one GOAL line per goal. Usage: python bench/bench_metrics.py [--requests 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

import boto3  # noqa: E402
from bench_api import free_port, wait_http  # noqa: E402
from goals import goal_line  # noqa: E402

from cloudlet.cli import terminate_tree  # noqa: E402
from cloudlet.config import Config  # noqa: E402
from cloudlet.services.registry import build_world  # noqa: E402


def goal(name: str, value: float, peer_name: str, peer: float, unit: str, target: float) -> None:
    print(goal_line(name, value, unit, peer_name, peer, "<=", target, "x"), flush=True)


def bench_emit(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = build_world(Config(data_dir=Path(tmp), persist=False))
        dims = (("FunctionName", "bench"),)
        now = int(time.time() * 1000)
        logs, metrics = world.logs, world.metrics
        logs.append_events("123456789012", "us-east-1", "/aws/lambda/bench", "s", [(now, "warm")])
        emit_times, log_times = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                metrics.emit("123456789012", "us-east-1", "AWS/Lambda", "Invocations", dims, 1.0, "Count")
            emit_times.append((time.perf_counter() - t0) / n * 1e6)
            t0 = time.perf_counter()
            for _ in range(n):
                logs.append_events("123456789012", "us-east-1", "/aws/lambda/bench", "s", [(now, "a line\n")])
            log_times.append((time.perf_counter() - t0) / n * 1e6)
        goal("metric sample on the invoke path", min(emit_times), "one log line shipped", min(log_times), "us", 1.0)


def bench_api(requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"), CLOUDLET_EXIT_WITH_PARENT="1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "cloudlet", "start", "--port", str(port), "--data-dir", tmp],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/_cloudlet/health", timeout=60)
            session = boto3.session.Session(aws_access_key_id=Config.access_key_id,
                                            aws_secret_access_key=Config.secret_access_key, region_name="us-east-1")
            cw, logs = session.client("cloudwatch", endpoint_url=url), session.client("logs", endpoint_url=url)
            logs.create_log_group(logGroupName="bench")
            logs.create_log_stream(logGroupName="bench", logStreamName="s")
            start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=60)
            # 60 minutes of data to read back; 60 log events likewise.
            cw.put_metric_data(Namespace="bench", MetricData=[
                {"MetricName": "read", "Value": float(i), "Timestamp": start + dt.timedelta(minutes=i)}
                for i in range(60)])
            now_ms = int(time.time() * 1000)
            logs.put_log_events(logGroupName="bench", logStreamName="s",
                                logEvents=[{"timestamp": now_ms, "message": f"event {i}"} for i in range(60)])
            put_m, put_l, get_m, get_l = [], [], [], []
            for r in range(requests):
                t0 = time.perf_counter()
                cw.put_metric_data(Namespace="bench", MetricData=[
                    {"MetricName": f"m{i}", "Value": float(r)} for i in range(20)])
                put_m.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                logs.put_log_events(logGroupName="bench", logStreamName="s", logEvents=[
                    {"timestamp": int(time.time() * 1000), "message": f"line {r} {i}"} for i in range(20)])
                put_l.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                cw.get_metric_data(MetricDataQueries=[{"Id": "r", "MetricStat": {
                    "Metric": {"Namespace": "bench", "MetricName": "read"}, "Period": 60, "Stat": "Average"}}],
                    StartTime=start, EndTime=start + dt.timedelta(minutes=60))
                get_m.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                logs.get_log_events(logGroupName="bench", logStreamName="s", limit=60, startFromHead=True)
                get_l.append(time.perf_counter() - t0)
            ms = 1000.0
            goal("PutMetricData 20 points p50", statistics.median(put_m) * ms, "PutLogEvents 20 events",
                 statistics.median(put_l) * ms, "ms", 1.5)
            goal("GetMetricData 60 periods p50", statistics.median(get_m) * ms, "GetLogEvents 60 events",
                 statistics.median(get_l) * ms, "ms", 1.5)
        finally:
            terminate_tree(proc.pid, timeout=15)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--samples", type=int, default=20000)
    args = parser.parse_args()
    bench_emit(args.samples)
    bench_api(args.requests)


if __name__ == "__main__":
    main()
