"""Rules every IAM operation shares: errors, names, paths, tags, paging, documents."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from typing import Any, TypeVar

from cloudlet.core.errors import AWSError
from cloudlet.core.paging import offset_page

T = TypeVar("T")

MAX_TAGS = 50
_PATH = re.compile(r"^/$|^/[\x21-\x7E]*/$")


def no_such_entity(message: str) -> AWSError:
    return AWSError("NoSuchEntity", message, 404)


def already_exists(message: str) -> AWSError:
    return AWSError("EntityAlreadyExists", message, 409)


def delete_conflict(message: str) -> AWSError:
    return AWSError("DeleteConflict", message, 409)


def limit_exceeded(message: str) -> AWSError:
    return AWSError("LimitExceeded", message, 409)


def invalid_input(message: str) -> AWSError:
    return AWSError("InvalidInput", message, 400)


def check_path(path: str | None) -> str:
    if path is None:
        return "/"
    if not _PATH.match(path) or "//" in path:
        raise AWSError(
            "ValidationError",
            "The specified value for path is invalid. It must begin and end with / "
            "and contain only alphanumeric characters and/or / characters.",
            400,
        )
    return path


def encode_document(text: str) -> str:
    """Policy documents travel URL-encoded in IAM responses, as AWS sends them."""
    return urllib.parse.quote(text, safe="")


def decode_document(text: str) -> str:
    # Clients may send the document URL-encoded too (AWS accepts both).
    stripped = text.lstrip()
    if stripped.startswith(("%7B", "%7b")):
        return urllib.parse.unquote(text)
    return text


def check_document_size(text: str, limit: int, quota: str) -> None:
    # IAM counts policy size without whitespace.
    if len(re.sub(r"\s", "", text)) > limit:
        raise limit_exceeded(f"Cannot exceed quota for {quota}: {limit}")


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def merge_tags(existing: dict[str, str], new: Sequence[dict[str, Any]] | None) -> dict[str, str]:
    """Tag keys are case-insensitive in IAM: a new tag replaces any key equal ignoring case."""
    new = list(new or [])
    seen: set[str] = set()
    for tag in new:
        low = str(tag["Key"]).lower()
        if low in seen:
            raise invalid_input("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        seen.add(low)
    out = {k: v for k, v in existing.items() if k.lower() not in seen}
    for tag in new:
        out[str(tag["Key"])] = str(tag.get("Value", ""))
    if len(out) > MAX_TAGS:
        raise limit_exceeded("The number of tags has reached the maximum limit.")
    return out


def remove_tags(existing: dict[str, str], keys: Sequence[str]) -> dict[str, str]:
    drop = {k.lower() for k in keys}
    return {k: v for k, v in existing.items() if k.lower() not in drop}


def paginate(items: list[T], params: dict[str, Any], default_max: int = 100) -> tuple[list[T], dict[str, Any]]:
    """IAM paging: MaxItems and an opaque Marker; returns (page, IsTruncated/Marker fields)."""
    max_items = int(params.get("MaxItems") or default_max)
    page, token = offset_page(
        items, params.get("Marker"), max_items, "iam", lambda _t: AWSError("ValidationError", "Invalid Marker.", 400)
    )
    if token:
        return page, {"IsTruncated": True, "Marker": token}
    return page, {"IsTruncated": False}


def path_matches(path: str, prefix: str | None) -> bool:
    return not prefix or path.startswith(prefix)
