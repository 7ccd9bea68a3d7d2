"""A quick estimate of how many tokens a text or a chat request costs, with no tokenizer.

These numbers are estimates, not counts. An exact count needs the model's own tokenizer,
and the usual Python one (tiktoken) downloads its vocabulary files at run time — which
fails for users behind a firewall or offline, and which would not match the tokenizers of
Llama, Qwen, DeepSeek and the other models an OpenAI-compatible server may run anyway.
So the window shows an honest "about N tokens" from a rule of thumb that needs nothing:

* Latin-script text (English, code, most European languages) averages about four
  characters per token with the BPE tokenizers chat models use;
* Chinese, Japanese and Korean characters cost about one token each;
* every chat message adds a few tokens of framing (the role and the separators OpenAI's
  chat format wraps around each message), counted as ``MESSAGE_OVERHEAD``.

The server's own ``prompt_tokens`` figure, stored with each reply, remains the exact one.
No Qt here: the command line and the engine may use it too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from desktop_chat.schemas import ChatMessage

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4

# Han ideographs (with extensions and compatibility forms), kana, Hangul, Bopomofo, CJK
# punctuation and full-width forms: scripts whose characters tokenize about one apiece.
_CJK = re.compile(
    "["
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u31ff"  # Bopomofo, Hangul compatibility Jamo, Kanbun, Katakana extensions
    "\u3200-\u4dbf"  # enclosed CJK, CJK compatibility, extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended A
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\ufe30-\ufe4f"  # CJK compatibility forms
    "\uff00-\uffef"  # half-width and full-width forms
    "\U00020000-\U0003ffff"  # extensions B and later
    "]"
)


def estimate_tokens(text: str) -> int:
    """About how many tokens `text` is: one per CJK character, one per 4 other characters.

    The other characters are rounded up, so any non-empty text is at least one token;
    an empty text is zero. Runs in C (a regex count) so it can be called on every keystroke.
    """
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    other = len(text) - cjk
    return cjk + math.ceil(other / CHARS_PER_TOKEN)


def estimate_messages(messages: Iterable[ChatMessage]) -> int:
    """About how many prompt tokens a request with these messages costs (an estimate).

    Each message's text plus ``MESSAGE_OVERHEAD`` for the framing the chat format adds.
    """
    return sum(MESSAGE_OVERHEAD + estimate_tokens(m.content) for m in messages)
