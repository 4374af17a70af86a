"""ElastiCache control plane: serverless caches on supervised valkey-server processes."""
