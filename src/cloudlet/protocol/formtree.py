"""Query-protocol parameters (Foo.member.1.Bar=x) as a tree of dotted segments."""

from __future__ import annotations


class Node:
    __slots__ = ("value", "children")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, Node] = {}

    def indexed(self) -> list[Node]:
        """Children named 1, 2, ... in numeric order (gaps are tolerated, as AWS does)."""
        numbered = [(int(k), n) for k, n in self.children.items() if k.isdigit()]
        numbered.sort(key=lambda pair: pair[0])
        return [n for _, n in numbered]


def build(pairs: list[tuple[str, str]]) -> Node:
    root = Node()
    for key, value in pairs:
        node = root
        for segment in key.split("."):
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = Node()
            node = child
        node.value = value
    return root
