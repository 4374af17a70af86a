"""Deployment packages: checking, storing and unpacking function zips."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path

from cloudlet.core.errors import AWSError
from cloudlet.services.lambda_.models import CodePackage

# AWS's limits (aws-facts D): the request-size message names the base64-inflated bound.
MAX_ZIPPED_DIRECT = 50 * 1024 * 1024
MAX_REQUEST_BYTES = 69905067
MAX_UNZIPPED = 262144000


def _bad_zip() -> AWSError:
    return AWSError(
        "InvalidParameterValueException",
        "Could not unzip uploaded file. Please check your file, then try to upload again.",
        status=400,
    )


def check_zip(data: bytes, operation: str) -> int:
    """Validate a direct-upload zip; returns its unzipped size."""
    if len(data) > MAX_ZIPPED_DIRECT:
        raise AWSError(
            "RequestEntityTooLargeException",
            f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the {operation} operation",
            status=413,
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            unzipped = sum(i.file_size for i in infos)
            if unzipped > MAX_UNZIPPED:
                raise AWSError(
                    "InvalidParameterValueException",
                    f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes",
                    status=400,
                )
            if zf.testzip() is not None:
                raise _bad_zip()
    except AWSError:
        raise
    except Exception as e:  # bad archive, unsupported compression, encrypted member...
        raise _bad_zip() from e
    return unzipped


def store_zip(code_dir: Path, data: bytes, unzipped_size: int) -> CodePackage:
    """Write the zip content-addressed under code_dir; the task root is unpacked later."""
    digest = hashlib.sha256(data)
    hex_ = digest.hexdigest()
    code_dir.mkdir(parents=True, exist_ok=True)
    zip_path = code_dir / f"{hex_}.zip"
    if not zip_path.exists():
        tmp = zip_path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, zip_path)
    return CodePackage(
        sha256_b64=base64.b64encode(digest.digest()).decode(),
        sha256_hex=hex_,
        size=len(data),
        unzipped_size=unzipped_size,
        zip_path=zip_path,
        task_root=code_dir / "tasks" / hex_,
    )


def unpack(pkg: CodePackage) -> Path:
    """Unpack the zip into its task root once (idempotent, atomic by rename)."""
    root = pkg.task_root
    if root.is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(root.name + f".tmp{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    with zipfile.ZipFile(pkg.zip_path) as zf:
        for info in zf.infolist():
            # Refuse entries escaping the task root (absolute paths, "..").
            target = (tmp / info.filename).resolve()
            if not str(target).startswith(str(tmp.resolve())):
                continue
            zf.extract(info, tmp)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(target, mode | 0o400)
    try:
        os.replace(tmp, root)
    except OSError:
        # Another preparer won the race; theirs is identical.
        shutil.rmtree(tmp, ignore_errors=True)
    return root
