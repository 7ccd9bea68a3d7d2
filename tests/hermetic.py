"""The suite passes whatever the environment of the person running it holds (#18).

Variables that change what the app or its libraries do are cleared, or set to a known
value, for the test process and for every process it starts, before any test runs; a
test that needs one sets it itself (with monkeypatch, or in a subprocess's env).
"""

from __future__ import annotations

import os

import keyring
from keyring.backends import fail

CLEARED = (
    "DESKTOP_CHAT_HOME",  # each test gets its own (the `home` fixture)
    "DESKTOP_CHAT_ONEFILE",  # build.spec: a one-file bundle instead of a folder
    "PYTHON_KEYRING_BACKEND",  # keyring loads it, and SecretStore trusts a named backend
    # The person's own Secret Service or KWallet: keys a test stores must never land there.
    # Tests of the real Secret Service start a private bus of their own.
    "DBUS_SESSION_BUS_ADDRESS",
    # httpx (under the openai SDK) and aiohttp send requests for the local fake server
    # through these, and read certificates from these.
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "LANGUAGE",  # with the locale below: the window speaks English ("system" language)
    # Qt: sizes and fonts the tests measure, the light or dark look of the "system" theme,
    # and which messages are logged at all.
    "QT_QPA_PLATFORMTHEME",
    "QT_SCALE_FACTOR",
    "QT_SCREEN_SCALE_FACTORS",
    "QT_FONT_DPI",
    "QT_STYLE_OVERRIDE",
    "QT_LOGGING_RULES",
)
# OPENAI_API_KEY is the key of every agent without one; OPENAI_ORG_ID, OPENAI_PROJECT_ID
# and OPENAI_LOG change the SDK's requests and logs; KEYRING_PROPERTY_* configure keyring.
CLEARED_PREFIXES = ("OPENAI_", "KEYRING_PROPERTY_")
# English, and UTF-8: under a locale the system lacks, Qt warns (and warnings fail tests).
FIXED = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


def clear_callers_environment() -> None:
    for name in list(os.environ):
        if name in CLEARED or name.startswith(CLEARED_PREFIXES):
            del os.environ[name]
    os.environ.update(FIXED)
    # What a machine without a keyring has: a test that stores keys picks a backend itself
    # (the `memory_keyring` fixture, or a real Secret Service in tests/test_keyring_real.py).
    keyring.set_keyring(fail.Keyring())
