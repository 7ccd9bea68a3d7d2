"""OpenAI-compatible streaming client and its error vocabulary.

`LLMClient` lives in `desktop_chat.llm.client` and is not re-exported here: importing the
openai SDK takes about half a second, and the window must paint before anyone needs it.
"""

from desktop_chat.llm.errors import ErrorKind, LLMError
from desktop_chat.llm.stream import Delta, Finish, Relayed, StreamItem

__all__ = ["Delta", "ErrorKind", "Finish", "LLMError", "Relayed", "StreamItem"]
