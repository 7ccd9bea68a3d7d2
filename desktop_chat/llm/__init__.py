"""OpenAI-compatible streaming client and its error vocabulary."""

from desktop_chat.llm.client import Delta, Finish, LLMClient, StreamItem
from desktop_chat.llm.errors import ErrorKind, LLMError

__all__ = ["Delta", "ErrorKind", "Finish", "LLMClient", "LLMError", "StreamItem"]
