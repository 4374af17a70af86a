"""cloudlet's resolver shim, loaded by every Lambda environment's interpreter.

Names of cloudlet's endpoints (serverless cache hosts) exist only in cloudlet's
VPC DNS, mirrored to a hosts file (the launcher names it; a sandbox has it at a fixed
place). This wraps the
socket module's resolver calls to answer those names from that file and hands
everything else to the system resolver.
"""

import os
import socket

# Named by the launcher (never through a variable the function could see); a Python the
# function starts itself finds the sandbox's copy at its fixed place.
_SANDBOX_HOSTS = "/var/cloudlet/dns/hosts"
_PATH = _SANDBOX_HOSTS if os.path.exists(_SANDBOX_HOSTS) else ""


def use_hosts_file(path):
    global _PATH
    _PATH = path or _PATH
_cache: dict = {"mtime": None, "names": {}}
_orig_getaddrinfo = socket.getaddrinfo
_orig_gethostbyname = socket.gethostbyname
_orig_gethostbyname_ex = socket.gethostbyname_ex


def _names():
    try:
        mtime = os.stat(_PATH).st_mtime_ns
    except OSError:
        return {}
    if mtime != _cache["mtime"]:
        names = {}
        try:
            with open(_PATH) as f:
                for line in f:
                    parts = line.split("#", 1)[0].split()
                    for name in parts[1:]:
                        names[name.lower()] = parts[0]
        except OSError:
            return _cache["names"]
        _cache["mtime"], _cache["names"] = mtime, names
    return _cache["names"]


def _lookup(host):
    if not _PATH or not isinstance(host, (str, bytes)):
        return None
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return _names().get(host.rstrip(".").lower())


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    addr = _lookup(host)
    return _orig_getaddrinfo(addr or host, port, family, type, proto, flags)


def gethostbyname(host):
    return _lookup(host) or _orig_gethostbyname(host)


def gethostbyname_ex(host):
    addr = _lookup(host)
    if addr:
        return host, [], [addr]
    return _orig_gethostbyname_ex(host)


if _PATH:
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
