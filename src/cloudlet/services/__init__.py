"""One package per AWS service: a thin provider over a store."""
