"""The console's sign-in secret: random, in DATA_DIR/console/secret, readable by its owner only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_FILE = Path("console") / "secret"


def secret_path(data_dir: Path) -> Path:
    return data_dir / SECRET_FILE


def read_secret(data_dir: Path) -> str | None:
    try:
        return secret_path(data_dir).read_text().strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def ensure_secret(data_dir: Path) -> str:
    """The secret, made on first use. Kept across starts so an open tab's instructions stay true;
    the file is (re)made mode 0600 in a 0700 directory so no other local user can read it."""
    path = secret_path(data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    existing = read_secret(data_dir)
    if existing is not None:
        os.chmod(path, 0o600)
        return existing
    value = secrets.token_urlsafe(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    os.replace(tmp, path)
    return value
