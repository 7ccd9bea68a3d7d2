"""OpenAI-compatible streaming client and its error vocabulary.

`LLMClient` lives in `desktop_chat.llm.client` and is not re-exported here: importing the
openai SDK takes about half a second, and the window must paint before anyone needs it.
"""

import sys

from desktop_chat.llm.errors import ErrorKind, LLMError
from desktop_chat.llm.stream import Delta, Finish, Relayed, StreamItem

# The SDK offers aiohttp as an optional transport and imports it (about 100 ms) whenever
# aiohttp is installed, as it is here for the local API. Requests go through httpx2: the
# SDK is told that optional transport is absent, the way Python marks a module that must
# not be imported, before anything here imports the SDK; it then falls back as it does
# without aiohttp. The API server still imports aiohttp itself when it starts.
sys.modules.setdefault("openai._vendor.httpx_aiohttp", None)  # type: ignore[arg-type]

__all__ = ["Delta", "ErrorKind", "Finish", "LLMError", "Relayed", "StreamItem"]
