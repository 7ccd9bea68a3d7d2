"""The token estimate, against counts worked out by hand from its documented rule.

Rule: one token per CJK character, one per four other characters (rounded up), and
four more per chat message.
"""

from __future__ import annotations

import pytest

from desktop_chat.schemas import ChatMessage
from desktop_chat.tokens import MESSAGE_OVERHEAD, estimate_messages, estimate_tokens


def test_empty_text_is_no_tokens() -> None:
    assert estimate_tokens("") == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abcd", 1),  # 4 characters
        ("abcde", 2),  # 5 characters, rounded up
        ("a", 1),  # anything non-empty costs at least one token
        ("Hello, world!", 4),  # 13 characters -> 3.25 -> 4
        ("The quick brown fox jumps over the lazy dog.", 11),  # 44 characters
        ("a" * 4000, 1000),
    ],
)
def test_english_is_about_four_characters_a_token(text: str, expected: int) -> None:
    assert estimate_tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好世界", 4),
        ("你好，世界。", 6),  # full-width comma and ideographic full stop count as CJK
        ("こんにちは", 5),  # Japanese kana
        ("안녕하세요", 5),  # Korean Hangul
        ("𠀀", 1),  # an ideograph outside the Basic Multilingual Plane
    ],
)
def test_cjk_is_about_one_token_a_character(text: str, expected: int) -> None:
    assert estimate_tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello 世界", 4),  # "Hello " is 6 characters -> 2, plus 2 ideographs
        ("用 Python 写", 4),  # 2 ideographs, plus " Python " (8 characters) -> 2
        ("SQLite 的 WAL 模式", 6),  # 3 ideographs, plus "SQLite ", " WAL " (12) -> 3
    ],
)
def test_mixed_text_adds_both_rules(text: str, expected: int) -> None:
    assert estimate_tokens(text) == expected


def test_a_message_list_adds_the_framing_of_each_message() -> None:
    messages = [
        ChatMessage(role="system", content="You are terse."),  # 14 characters -> 4
        ChatMessage(role="user", content="What is 2+2?"),  # 12 characters -> 3
        ChatMessage(role="assistant", content="四"),  # 1 ideograph -> 1
    ]
    assert MESSAGE_OVERHEAD == 4
    assert estimate_messages(messages) == (4 + 4) + (4 + 3) + (4 + 1)


def test_an_empty_request_costs_nothing_and_an_empty_message_only_its_framing() -> None:
    assert estimate_messages([]) == 0
    assert estimate_messages([ChatMessage(role="user", content="")]) == MESSAGE_OVERHEAD
