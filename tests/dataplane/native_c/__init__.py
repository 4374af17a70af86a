"""The native data plane's C parts, tested against a real valkey-server (a package: its conftest must not
shadow tests/dataplane/conftest.py, which the tests beside it import by name)."""
