"""`cloudlet status`: the server's health answer as sections with headers and a caches table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

CACHE_COLUMNS = ("NAME", "STATUS", "ENDPOINT", "ADDRESS", "ACCOUNT", "REGION", "NOTE")


def parse_cache_line(line: str) -> dict[str, str] | None:
    """One of ElastiCache's status lines (services/elasticache/base.py status_lines) as columns.

    Format: `elasticache ACCOUNT REGION NAME STATUS HOSTNAME ADDRESS [restarts=N] [reason: TEXT]`.
    None for a line of another shape (printed as it is).
    """
    head, _, reason = line.partition(" reason: ")
    parts = head.split()
    if len(parts) not in (7, 8) or parts[0] != "elasticache":
        return None
    notes = [p for p in parts[7:] if p.startswith("restarts=")]
    if len(parts) == 8 and not notes:
        return None
    if reason:
        notes.append(f"reason: {reason}")
    _, account, region, name, status, hostname, address = parts[:7]
    return {"NAME": name, "STATUS": status, "ENDPOINT": hostname, "ADDRESS": address,
            "ACCOUNT": account, "REGION": region, "NOTE": " ".join(notes)}


def table(rows: Sequence[Mapping[str, str]], columns: Sequence[str], indent: str = "  ") -> list[str]:
    """Left-aligned columns under a header row; a column empty in every row is left out."""
    shown = [c for c in columns if c == columns[0] or any(r.get(c) for r in rows)]
    widths = {c: max(len(c), *(len(r.get(c, "")) for r in rows)) for c in shown}
    lines = []
    for r in [{c: c for c in shown}, *rows]:
        lines.append(indent + "  ".join(r.get(c, "").ljust(widths[c]) for c in shown).rstrip())
    return lines


def status_report(health: Mapping[str, object]) -> list[str]:
    """The lines after `cloudlet: running` and the endpoint."""
    out = [f"version: {health.get('version')}"]
    services = health.get("services")
    out.append("services:")
    if isinstance(services, Mapping):
        out += [f"  {name}: {state}" for name, state in services.items()]
    caches: list[dict[str, str]] = []
    other: list[str] = []
    lines = health.get("status_lines")
    for line in lines if isinstance(lines, list) else []:
        row = parse_cache_line(str(line))
        if row is None:
            other.append(str(line))
        else:
            caches.append(row)
    if caches:
        out.append(f"caches ({len(caches)}):")
        out += table(caches, CACHE_COLUMNS)
    else:
        out.append("caches: none")
    if other:
        out.append("other:")
        out += [f"  {line}" for line in other]
    return out
