"""The evaluation engine: may this request proceed, and which statement decided.

Order (IAM User Guide, policy evaluation logic): an explicit Deny in any
applicable policy wins; otherwise an Allow is needed from an identity-based
policy, or from a resource-based policy; a permissions boundary and session
policies, where present, must each also allow (a resource-based policy naming
the user or session itself is not limited by them); otherwise implicit deny.
Pure: no I/O. Documents are compiled once and cached by object identity.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from cloudlet.core.policies import PolicyDoc
from cloudlet.policy.conditions import condition_holds
from cloudlet.policy.matching import action_matcher, arn_matcher
from cloudlet.policy.principals import Caller, MatchKind, not_principal_excludes, principal_match
from cloudlet.policy.variables import has_variables, special_literals_only, substitute

PolicyType = Literal["identity", "resource", "boundary", "session"]
DecisionKind = Literal["explicit_deny", "allow", "implicit_deny"]


@dataclasses.dataclass(frozen=True)
class Decision:
    allowed: bool
    kind: DecisionKind
    policy_type: PolicyType | None = None  # type of the deciding policy (deny / allow)
    source: str | None = None  # PolicyDoc.source of the deciding policy
    statement: str | None = None  # Sid, or "#N" (0-based index) when it has none
    missing: PolicyType | None = None  # implicit deny: which policy type gave no Allow


@dataclasses.dataclass(frozen=True)
class _Statement:
    label: str
    allow: bool
    actions: tuple[Any, ...]  # compiled matchers
    not_action: bool
    resources: tuple[str, ...] | None  # None: element absent (trust policies)
    not_resource: bool
    principal: Any
    not_principal: Any
    condition: Mapping[str, Mapping[str, Any]] | None
    variables: bool  # 2012-10-17 documents substitute ${...}


class CompiledPolicy:
    """A document's statements, plus a memo of which statements each action reaches.

    Most statements name other actions, so a request only examines the few whose
    Action/NotAction element matches; the memo is per action name (bounded).
    """

    _MEMO_LIMIT = 2048

    def __init__(self, source: str, statements: tuple[_Statement, ...]) -> None:
        self.source = source
        self.statements = statements
        self._by_action: dict[str, tuple[_Statement, ...]] = {}

    def for_action(self, action: str) -> tuple[_Statement, ...]:
        hit = self._by_action.get(action)
        if hit is None:
            hit = tuple(st for st in self.statements if any(m(action) for m in st.actions) != st.not_action)
            if len(self._by_action) >= self._MEMO_LIMIT:
                self._by_action.clear()
            self._by_action[action] = hit
        return hit


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def compile_document(document: Mapping[str, Any], source: str = "") -> CompiledPolicy:
    variables = document.get("Version") == "2012-10-17"
    out: list[_Statement] = []
    for i, st in enumerate(_list(document.get("Statement", []))):
        if not isinstance(st, dict):
            continue
        not_action = "NotAction" in st
        acts = _list(st.get("NotAction" if not_action else "Action", []))
        not_res = "NotResource" in st
        res_raw = st.get("NotResource" if not_res else "Resource")
        resources = None if res_raw is None else tuple(
            special_literals_only(r) if variables else r for r in _list(res_raw)
        )
        cond = st.get("Condition")
        out.append(
            _Statement(
                label=st.get("Sid") or f"#{i}",
                allow=st.get("Effect") == "Allow",
                actions=tuple(action_matcher(a) for a in acts if isinstance(a, str)),
                not_action=not_action,
                resources=resources,
                not_resource=not_res,
                principal=st.get("Principal"),
                not_principal=st.get("NotPrincipal"),
                condition=cond if isinstance(cond, dict) and cond else None,
                variables=variables,
            )
        )
    return CompiledPolicy(source, tuple(out))


class _Cache:
    """Compiled documents, found by the document object itself (held to pin its id)
    or, for a caller that decodes a fresh dict per request, by its contents."""

    def __init__(self, size: int = 4096) -> None:
        self._by_id: OrderedDict[int, tuple[Mapping[str, Any], str, CompiledPolicy]] = OrderedDict()
        self._by_content: OrderedDict[tuple[str, str], CompiledPolicy] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, document: Mapping[str, Any], source: str) -> CompiledPolicy:
        hit = self._by_id.get(id(document))
        if hit is not None and hit[0] is document and hit[1] == source:
            return hit[2]
        # repr is far cheaper than compiling again (documents are plain JSON values).
        content_key = (source, repr(document))
        compiled = self._by_content.get(content_key)
        with self._lock:
            if compiled is None:
                compiled = compile_document(document, source)
                self._by_content[content_key] = compiled
                while len(self._by_content) > self._size:
                    self._by_content.popitem(last=False)
            else:
                self._by_content.move_to_end(content_key)
            self._by_id[id(document)] = (document, source, compiled)
            while len(self._by_id) > self._size:
                self._by_id.popitem(last=False)
        return compiled


_cache = _Cache()


def compiled(policy: PolicyDoc | CompiledPolicy) -> CompiledPolicy:
    if isinstance(policy, CompiledPolicy):
        return policy
    return _cache.get(policy.document, policy.source)


def _resource_matches(st: _Statement, resource: str, context: Mapping[str, Any]) -> bool:
    assert st.resources is not None
    hit = False
    for pattern in st.resources:
        if st.variables and has_variables(pattern):
            filled = substitute(pattern, context)
            if filled is None:
                continue  # missing key: this entry cannot match
            pattern = filled
        if arn_matcher(pattern)(resource):
            hit = True
            break
    return hit != st.not_resource


def _statement_applies(
    st: _Statement, resource: str, context: Mapping[str, Any], caller: Caller | None
) -> MatchKind | bool:
    """False, or True / the principal match kind when the statement applies (action already matched)."""
    if st.resources is not None and not _resource_matches(st, resource, context):
        return False
    kind: MatchKind | bool = True
    if st.principal is not None:
        if caller is None:
            return False
        got = principal_match(st.principal, caller)
        if got is None:
            return False
        kind = got
    elif st.not_principal is not None:
        if caller is None or not_principal_excludes(st.not_principal, caller):
            return False
        kind = "anyone"
    if st.condition is not None and not condition_holds(st.condition, context, st.variables):
        return False
    return kind


# How strongly an Allow names the caller: a direct grant beats a delegation.
_STRENGTH: dict[Any, int] = {"anyone": 3, "account": 1, "role": 2, "service": 3, "exact": 3, True: 3}


@dataclasses.dataclass
class _Scan:
    deny: tuple[str, str] | None = None
    allow: tuple[str, str] | None = None
    allow_kind: MatchKind | bool = False


def _scan(
    policies: Sequence[PolicyDoc | CompiledPolicy],
    action: str,
    resource: str,
    context: Mapping[str, Any],
    caller: Caller | None,
) -> _Scan:
    result = _Scan()
    for p in policies:
        cp = compiled(p)
        for st in cp.for_action(action):
            applies = _statement_applies(st, resource, context, caller)
            if applies is False:
                continue
            if not st.allow:
                result.deny = (cp.source, st.label)
                return result  # an explicit deny needs no further search
            if result.allow is None or _STRENGTH[applies] > _STRENGTH.get(result.allow_kind, 0):
                result.allow, result.allow_kind = (cp.source, st.label), applies
    return result


def evaluate(
    action: str,
    resource: str,
    context: Mapping[str, Any],
    identity: Sequence[PolicyDoc | CompiledPolicy] = (),
    boundary: PolicyDoc | CompiledPolicy | None = None,
    session: Sequence[PolicyDoc | CompiledPolicy] = (),
    resource_policies: Sequence[PolicyDoc | CompiledPolicy] = (),
    caller: Caller | None = None,
) -> Decision:
    """Decide ACTION on RESOURCE. CONTEXT keys must be lower-cased (see context_keys)."""
    scans: list[tuple[PolicyType, _Scan]] = [
        ("identity", _scan(identity, action, resource, context, caller)),
        ("resource", _scan(resource_policies, action, resource, context, caller)),
    ]
    if boundary is not None:
        scans.append(("boundary", _scan([boundary], action, resource, context, caller)))
    if session:
        scans.append(("session", _scan(session, action, resource, context, caller)))
    for ptype, scan in scans:
        if scan.deny:
            return Decision(False, "explicit_deny", ptype, scan.deny[0], scan.deny[1])
    by_type = dict(scans)
    ident, res = by_type["identity"], by_type["resource"]
    # A resource policy naming the user or session itself (or everyone) grants on its own.
    if res.allow and res.allow_kind in ("exact", "service", "anyone"):
        return Decision(True, "allow", "resource", res.allow[0], res.allow[1])
    grant: tuple[PolicyType, tuple[str, str]] | None = None
    if ident.allow:
        grant = ("identity", ident.allow)
    elif res.allow and res.allow_kind == "role":
        grant = ("resource", res.allow)
    if grant is None:
        return Decision(False, "implicit_deny", missing="identity")
    if boundary is not None and not by_type["boundary"].allow:
        return Decision(False, "implicit_deny", missing="boundary")
    if session and not by_type["session"].allow:
        return Decision(False, "implicit_deny", missing="session")
    return Decision(True, "allow", grant[0], grant[1][0], grant[1][1])


def evaluate_trust(
    document: Mapping[str, Any] | CompiledPolicy,
    action: str,
    resource: str,
    context: Mapping[str, Any],
    caller: Caller,
    source: str = "trust",
) -> tuple[Decision, MatchKind | None]:
    """A role's trust policy alone: its decision and how the allowing statement named the caller."""
    cp = document if isinstance(document, CompiledPolicy) else _cache.get(document, source)
    scan = _scan([cp], action, resource, context, caller)
    if scan.deny:
        return Decision(False, "explicit_deny", "resource", scan.deny[0], scan.deny[1]), None
    if scan.allow:
        kind = scan.allow_kind if isinstance(scan.allow_kind, str) else "exact"
        return Decision(True, "allow", "resource", scan.allow[0], scan.allow[1]), kind
    return Decision(False, "implicit_deny", missing="resource"), None
