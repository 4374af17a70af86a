"""Transitive session tags: what a role session passes on to the sessions it assumes.

A session's transitive tags are carried into every session it chains to (role
chaining), where the new request may not set those keys again. Keys compare
case-insensitively, as everywhere in session tags. Wordings as AWS answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloudlet.core.context import Principal
from cloudlet.core.errors import AWSError

Tags = tuple[tuple[str, str], ...]


def _invalid(message: str) -> AWSError:
    return AWSError("InvalidParameterValue", message, 400)


def transitive_tags(caller: Principal, requested: Tags, transitive_keys: Sequence[str]) -> tuple[Tags, tuple[str, ...]]:
    """(the new session's tags, its transitive keys) for an AssumeRole by CALLER."""
    requested_keys = {k.lower() for k, _ in requested}
    if any(key.lower() not in requested_keys for key in transitive_keys):
        raise _invalid("The specified transitive tag key must be included in the requested tags.")
    passed_keys = {k.lower() for k in caller.transitive_tag_keys} if caller.type == "AssumedRole" else set()
    inherited = tuple((k, v) for k, v in caller.session_tags if k.lower() in passed_keys)
    if any(k.lower() in passed_keys for k, _ in requested):
        raise _invalid("One of the specified transitive tag keys can't be set because it conflicts with a "
                       "transitive tag key from the calling session.")
    keys = tuple(k for k, _ in inherited) + tuple(transitive_keys)
    return inherited + requested, keys
