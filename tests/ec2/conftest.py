"""Direct provider fixtures: a World with IAM, STS and EC2 (tests/provider_world.py)."""

from provider_world import *  # noqa: F401,F403
