"""The native data plane (CLOUDLET_DATAPLANE=native): valkey serves its clients itself.

cloudlet accepts each connection (acceptor.py) and hands the socket to the cache's
valkey-server (SCM_RIGHTS over a unix socket, received by handoff.so), which does TLS
and runs every command with no Python on the path. AUTH is decided by cloudlet through
the cloudlet module (verifier.py answers it); the commands serverless lacks are renamed
away in valkey's configuration (renames.py); the timers that end connections (auth
timeout, IAM 12 hours, users leaving the group) act through the acceptor's kept
descriptor or CLIENT KILL (plane.py). The C half lives in ../native/.
"""
