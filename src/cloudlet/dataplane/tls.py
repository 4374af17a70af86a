"""cloudlet's local CA and the per-cache server certificates it issues.

The CA is made once per data directory (DATA_DIR/ca/ca.pem + ca.key, 0600);
clients that want to verify the cache endpoint trust ca.pem. Each cache gets a
leaf certificate for its hostname and loopback address, kept in memory only; the
openssl command issues it, so only making a CA needs cryptography.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

_LOCK = threading.Lock()


def ca_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "ca"


def ca_cert_path(data_dir: Path) -> Path:
    """Where the CA certificate (PEM) lives; `cloudlet ca` prints this path."""
    return ca_dir(data_dir) / "ca.pem"


def ca_key_path(data_dir: Path) -> Path:
    return ca_dir(data_dir) / "ca.key"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def ensure_ca(data_dir: Path) -> None:
    """Make the CA if this data directory has none."""
    cert_path, key_path = ca_cert_path(data_dir), ca_key_path(data_dir)
    if cert_path.exists() and key_path.exists():
        return
    # cryptography is loaded only to make a CA (`cloudlet start` does that in a child, cli_ca).
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    with _LOCK:
        if not (cert_path.exists() and key_path.exists()):
            ca_dir(data_dir).mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cloudlet"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "cloudlet local CA"),
                ]
            )
            now = _now()
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256())
            )
            _write_private(
                key_path,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
            _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def issue_server_cert(data_dir: Path, hostnames: list[str], addresses: list[str]) -> tuple[bytes, bytes]:
    """A leaf certificate (PEM chain: leaf + CA) and its key (PEM) for these names, issued by
    the openssl command (a few ms), so cloudlet's own process need not load cryptography
    (~7 MiB of every cloudlet with a cache). The key comes back on a pipe, never on disk."""
    ensure_ca(data_dir)
    for name in hostnames:
        if not _HOSTNAME.fullmatch(name):
            raise ValueError(f"not a hostname for a certificate: {name!r}")
    sans = [f"DNS:{h}" for h in hostnames] + [f"IP:{ipaddress.ip_address(a)}" for a in addresses]
    config = "\n".join([
        "[req]", "distinguished_name = dn", "x509_extensions = leaf", "prompt = no",
        "[dn]", f"CN = {hostnames[0]}",
        "[leaf]", f"subjectAltName = {','.join(sans)}", "basicConstraints = critical,CA:FALSE",
        "extendedKeyUsage = serverAuth", "authorityKeyIdentifier = keyid", "",
    ])
    try:
        out = subprocess.run(
            [_openssl(), "req", "-x509", "-config", "/dev/stdin", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-sha256", "-days", "365", "-CA", str(ca_cert_path(data_dir)),
             "-CAkey", str(ca_key_path(data_dir)), "-keyout", "/dev/stdout", "-out", "/dev/stdout"],
            input=config.encode(), capture_output=True, check=True, timeout=30,
        ).stdout
    except subprocess.CalledProcessError as e:
        raise OSError(f"openssl could not issue the certificate: {e.stderr.decode(errors='replace').strip()}") from e
    key_pem = _pem_block(out, b"PRIVATE KEY")
    leaf = _pem_block(out, b"CERTIFICATE")
    return leaf + ca_cert_path(data_dir).read_bytes(), key_pem


_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _openssl() -> str:
    found = shutil.which("openssl")
    if found is None:
        raise OSError("the openssl command is not installed (Debian: apt-get install openssl)")
    return found


def _pem_block(data: bytes, label: bytes) -> bytes:
    begin, end = b"-----BEGIN " + label + b"-----", b"-----END " + label + b"-----"
    i = data.index(begin)
    j = data.index(end, i) + len(end)
    return data[i:j] + b"\n"


def server_context(data_dir: Path, hostnames: list[str], addresses: list[str]) -> ssl.SSLContext:
    """TLS 1.2/1.3 server context presenting a fresh certificate for these names."""
    chain, key_pem = issue_server_cert(data_dir, hostnames, addresses)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    # load_cert_chain reads files only; keep the key on disk just long enough, 0600.
    with tempfile.TemporaryDirectory(prefix="cloudlet-tls-") as tmp:
        cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        _write_private(cert_file, chain)
        _write_private(key_file, key_pem)
        ctx.load_cert_chain(cert_file, key_file)
    return ctx
