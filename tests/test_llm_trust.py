"""Servers' certificates are checked against the store httpx2 would use, and nothing more."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_chat.llm.trust import CA_FILE_CANDIDATES
from tests.tls_support import self_signed

REPORT = """
import json, ssl, sys
{setup}
from desktop_chat.llm.trust import verification
chosen = verification()
if chosen is True:
    print(json.dumps("aiohttp's default"))
else:  # how many authorities, and the names of the first few
    names = [v for c in chosen.get_ca_certs()[:3] for rdn in c["subject"] for _, v in rdn]
    print(json.dumps({"count": chosen.cert_store_stats()["x509_ca"], "names": names}))
"""
MISSING_DEFAULTS = """
ssl.get_default_verify_paths = lambda: ssl.DefaultVerifyPaths(
    "/nonexistent/cert.pem", "/nonexistent/certs", "SSL_CERT_FILE", "/nonexistent/cert.pem",
    "SSL_CERT_DIR", "/nonexistent/certs")
"""


def trusted(env: dict[str, str], setup: str = "") -> object:
    """What a fresh process trusts: aiohttp's default, or how many authorities and some names."""
    base = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    done = subprocess.run(
        [sys.executable, "-c", REPORT.replace("{setup}", setup)],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the system store is truststore")
def test_with_nothing_set_the_systems_bundle_is_loaded_once_by_aiohttp() -> None:
    assert trusted({}) == "aiohttp's default"


def test_ssl_cert_file_replaces_the_systems_store(tmp_path: Path) -> None:
    """Not added to it, as OpenSSL's defaults would (a company's proxy, a private CA)."""
    cert_file, _ = self_signed(tmp_path)
    found = trusted({"SSL_CERT_FILE": str(cert_file)})
    assert found == {"count": 1, "names": ["desktop-chat test server"]}


@pytest.mark.skipif(
    sys.platform in ("win32", "darwin") or not any(map(os.path.isfile, CA_FILE_CANDIDATES)),
    reason="needs a Linux CA bundle in one of the usual places",
)
def test_a_python_built_to_look_elsewhere_finds_the_distributions_bundle() -> None:
    """A portable or frozen build whose OpenSSL paths do not exist here would trust nothing."""
    found = trusted({}, setup=MISSING_DEFAULTS)
    assert isinstance(found, dict) and found["count"] > 10
