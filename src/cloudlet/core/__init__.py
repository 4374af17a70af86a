"""Shared contracts: errors, request context, stores, provider base, the World."""
