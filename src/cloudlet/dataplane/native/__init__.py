"""The native data plane's C parts: valkey's module (auth, refusals, throttle) and the
LD_PRELOAD hand-off shim, built on first use by build.py."""
