"""OpenAI-compatible streaming client and its error vocabulary.

`LLMClient` lives in `desktop_chat.llm.client` and is not re-exported here: importing the
openai SDK takes about half a second, and the window must paint before anyone needs it.
"""

import sys

from desktop_chat.llm.errors import ErrorKind, LLMError
from desktop_chat.llm.stream import Delta, Finish, Relayed, StreamItem

# The SDK offers aiohttp as an optional transport and imports its version of it whenever
# aiohttp is installed. Requests go through ours (llm/transport.py), which builds its TLS
# context without importing httpcore2: the SDK is told its version is absent, the way
# Python marks a module that must not be imported, before anything here imports the SDK.
sys.modules.setdefault("openai._vendor.httpx_aiohttp", None)  # type: ignore[arg-type]


def load_sdk() -> None:
    """Import the SDK with our transport, and make the TLS context every client shares.

    Both take a while (the SDK about half a second): called in a thread ahead of the first
    request, so that neither the window's loop nor a command's first byte waits for them.
    """
    import desktop_chat.llm.client  # noqa: F401
    from desktop_chat.llm.trust import verification

    verification()


__all__ = ["Delta", "ErrorKind", "Finish", "LLMError", "Relayed", "StreamItem", "load_sdk"]
