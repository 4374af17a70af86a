"""The data plane's CA for `cloudlet start`, made in a child process while the server loads.

A new data dir needs its CA before the server reports healthy (`cloudlet ca` names a real
file from the start). Making it takes cryptography, which costs a start tens of
milliseconds and an idle server ~10 MiB; a child process makes it on the other core
while the parent imports the server, and the server itself imports cryptography only at
its first cache. A data dir that has its CA starts no child.

    python -m cloudlet.cli_ca DATA_DIR   # what the child runs
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cloudlet.cli_checks import CliError


def _ca_files(data_dir: Path) -> tuple[Path, Path]:
    # The paths of dataplane/tls.py (ca_cert_path, ca_key_path), without importing it.
    return data_dir / "ca" / "ca.pem", data_dir / "ca" / "ca.key"


def start_ca(data_dir: Path) -> subprocess.Popen[bytes] | None:
    """A child making DATA_DIR's CA, or None when it has one."""
    if all(p.exists() for p in _ca_files(data_dir)):
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "cloudlet.cli_ca", str(data_dir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def finish_ca(child: subprocess.Popen[bytes] | None) -> None:
    """Wait for the child of start_ca; its failure becomes the CliError it printed."""
    if child is None:
        return
    _, err = child.communicate()
    if child.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise CliError(lines[-1] if lines else f"making the CA failed (exit {child.returncode})")


def main(argv: list[str]) -> int:
    from cloudlet.dataplane.tls import ensure_ca

    data_dir = Path(argv[0])
    try:
        ensure_ca(data_dir)
    except OSError as e:
        print(f"cannot create the CA in {data_dir / 'ca'}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
