"""The data plane: each serverless cache's TLS endpoint, authentication, and proxy to valkey."""
