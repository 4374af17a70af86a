"""STS: caller identity, role sessions and session tokens."""
