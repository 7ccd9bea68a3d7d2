"""Which certificates a server's must chain to: what httpx2 trusts by default.

That is the file SSL_CERT_FILE names, or else the folder SSL_CERT_DIR names, or else the
system's store: truststore on Windows and macOS; on Linux and the BSDs, the bundle and
folder OpenSSL was built to read, or the first usual bundle that exists when those are
missing (a portable or frozen Python built elsewhere). httpx2 builds this in httpcore2,
whose import (about 90 ms) would sit on the way to a reply's first byte, so the same
rules are applied here.
"""

from __future__ import annotations

import os
import re
import ssl
import sys
import threading

# Where the usual Linux distributions keep their bundle, in the order httpx2 tries them.
CA_FILE_CANDIDATES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)
_HASHED_NAME = re.compile(r"[0-9a-fA-F]{8}\.\d")

_shared: ssl.SSLContext | None = None
_lock = threading.Lock()


def verification() -> ssl.SSLContext | bool:
    """The context every client checks servers with, made once; True for aiohttp's own.

    aiohttp makes a default context when it is imported: OpenSSL's built-in bundle and
    folder. When that is exactly the store above (Linux, no variable set, the bundle
    there), it is used as it is, and the certificates are not loaded a second time
    (40 ms on the way to a reply's first byte).
    """
    if _openssl_defaults_are_the_store():
        return True
    global _shared
    with _lock:
        if _shared is None:
            _shared = verifying_context()
        return _shared


def _openssl_defaults_are_the_store() -> bool:
    if sys.platform in ("win32", "darwin"):
        return False
    if "SSL_CERT_FILE" in os.environ or "SSL_CERT_DIR" in os.environ:
        return False  # OpenSSL would add them to its defaults; they replace the store here
    return os.path.isfile(ssl.get_default_verify_paths().openssl_cafile)


def verifying_context() -> ssl.SSLContext:
    """A new context that trusts the store described above, and nothing else."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    if sys.platform in ("win32", "darwin"):
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if capath and not cafile and not any(map(_HASHED_NAME.fullmatch, os.listdir(capath))):
        capath = None  # a folder OpenSSL cannot look certificates up in
    if not cafile and not capath:
        cafile = next(filter(os.path.isfile, CA_FILE_CANDIDATES), None)
    if cafile or capath:
        context.load_verify_locations(cafile, capath)
    return context
