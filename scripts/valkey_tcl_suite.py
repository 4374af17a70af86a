"""Run Valkey's own Tcl test suite (tests/unit) against a serverless cache endpoint of
cloudlet, in external-server TLS cluster-protocol mode, and classify the failures.

    python3 scripts/valkey_tcl_suite.py VALKEY_SRC [--only unit/type/incr ...]

VALKEY_SRC: a checkout of valkey-io/valkey at the version of the installed
valkey-server (e.g. tag 8.0.1). Needs tclsh and Debian's tcl-tls. The script starts
its own cloudlet (provider level, as tests/elasticache do) with one cache without a
user group, copies the suite to a temporary directory and makes two changes to its
harness there, both for commands serverless caches do not offer: the per-file
`FUNCTION FLUSH` and the per-file `CONFIG SET` overrides may fail (the tests that
need them then fail on their own, and are classified). Prints a table: failing
tests grouped by the refused command behind them, then anything else.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "elasticache")]

from ec_harness import Harness

# Containers whose refused subcommand is worth naming in the table.
CONTAINERS = {"acl", "client", "cluster", "command", "config", "debug", "function", "latency", "memory",
              "object", "pubsub", "script", "slowlog", "xgroup", "xinfo"}
_RESULT = re.compile(r"^(\[ok\]|\[err\]|\[exception\]|\*\*\* \[err\]|\[skip\]|\[ignore\]|Testing )")


def prepare(src: Path, work: Path, ca: Path) -> Path:
    suite = work / "valkey"
    shutil.copytree(src / "tests", suite / "tests")
    shutil.copy(src / "runtest", suite / "runtest")
    server_tcl = suite / "tests" / "support" / "server.tcl"
    text = server_tcl.read_text()
    text = text.replace("    r function flush\n", "    catch {r function flush}\n", 1)
    text = text.replace(
        "        dict set saved_config $param [lindex [r config get $param] 1]\n        r config set $param $val",
        "        catch {dict set saved_config $param [lindex [r config get $param] 1]}\n"
        "        catch {r config set $param $val}",
    )
    server_tcl.write_text(text)
    tls = suite / "tests" / "tls"
    tls.mkdir(exist_ok=True)
    shutil.copy(ca, tls / "ca.crt")
    # The endpoint asks for no client certificate; the harness loads one anyway.
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tls / "client.key"),
         "-out", str(tls / "client.crt"), "-days", "2", "-subj", "/CN=tcl-client"],
        check=True, capture_output=True,
    )
    return suite


def classify(log: str) -> dict[str, list[str]]:
    lines = re.sub(r"\x1b\[[0-9;]*m", "", log).splitlines()
    failures: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = re.match(r"^(?:\*\*\* )?\[(?:err|exception)\]: (.*)", lines[i])
        i += 1
        if not m:
            continue
        body = []
        while i < len(lines) and not _RESULT.match(lines[i]):
            body.append(lines[i])
            i += 1
        failures.setdefault(m.group(1), "\n".join(body))
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for name, body in failures.items():
        refused = re.search(r"unknown (command|subcommand) '([^']+)'(?:, with args beginning with: '([^']*)')?", body)
        if refused:
            cmd = refused.group(2).lower()
            if refused.group(3) and cmd in CONTAINERS:
                cmd += " " + refused.group(3).lower()
            groups[f"refused (not offered by serverless): {cmd}"].append(name)
        elif "no permissions to run" in body:
            cmd = re.search(r"run the '([^']+)'", body)
            groups[f"refused inside a script (not offered): {cmd.group(1) if cmd else '?'}"].append(name)
        elif "too many arguments" in body:
            groups["refused: over 3,999 arguments"].append(name)
        else:
            first = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
            groups[f"other: {first[:160]}"].append(name)
    return groups


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("valkey_src", type=Path)
    ap.add_argument("--only", action="append", default=[], help="unit file, e.g. unit/type/incr (repeatable)")
    ap.add_argument("--timeout", type=int, default=60, help="per-test timeout, seconds")
    ap.add_argument("--skiptest", action="append", default=[], help="test name or /regexp to skip (repeatable)")
    ap.add_argument("--log", type=Path, help="write the suite's own output here")
    args = ap.parse_args()
    tests = args.only or sorted(
        str(p.relative_to(args.valkey_src / "tests").with_suffix(""))
        for p in [*(args.valkey_src / "tests" / "unit").glob("*.tcl"),
                  *(args.valkey_src / "tests" / "unit" / "type").glob("*.tcl")]
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        h = Harness(work / "cloudlet", cache_net="127.79")
        try:
            h.call("CreateServerlessCache", ServerlessCacheName="tcl", Engine="valkey")
            h.wait_status("tcl", "available", timeout=60)
            suite = prepare(args.valkey_src, work, h.config.data_dir / "ca" / "ca.pem")
            cmd = ["./runtest", "--host", h.cache("tcl").address, "--port", "6379", "--tls", "--cluster-mode",
                   "--clients", "1", "--durable", "--ignore-encoding", "--timeout", str(args.timeout)]
            for t in tests:
                cmd += ["--single", t]
            for t in args.skiptest:
                cmd += ["--skiptest", t]
            out = subprocess.run(cmd, cwd=suite, capture_output=True, text=True, errors="replace", check=False)
        finally:
            h.close()
    log = out.stdout + out.stderr
    if args.log is not None:
        args.log.write_text(log)
    clean = re.sub(r"\x1b\[[0-9;]*m", "", log)
    if "[TIMEOUT]" in clean:
        ran = re.findall(r"^Testing (\S+)", clean, re.MULTILINE)
        print(f"stopped early: a test of {ran[-1] if ran else '?'} hung (suite timeout); later files did not run")
    passed = len(re.findall(r"^\[ok\]", clean, re.MULTILINE))
    groups = classify(log)
    print(f"{len(tests)} files, {passed} tests passed, {sum(map(len, groups.values()))} failed")
    for key in sorted(groups, key=lambda k: (k.startswith("other"), -len(groups[k]))):
        print(f"{len(groups[key]):5d}  {key}")
        if key.startswith("other"):
            for name in groups[key]:
                print(f"         - {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
