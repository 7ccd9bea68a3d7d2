"""Every upstream failure becomes one LLMError with a kind and a sentence for the user.

The sentence says what happened and what to do; the log keeps the detail. Neither may
carry the API key, so messages are built from our own words and the server's error text
is passed through the redactor.
"""

from __future__ import annotations

import json
import ssl
from enum import StrEnum
from typing import TYPE_CHECKING

from desktop_chat.redaction import redact
from desktop_chat.sentences import N_

if TYPE_CHECKING:
    import openai


class ErrorKind(StrEnum):
    AUTH = "auth"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    RATE_LIMIT = "rate_limit"
    CONTEXT_TOO_LONG = "context_too_long"
    BAD_REQUEST = "bad_request"
    SERVER = "server"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    STREAM_CUT = "stream_cut"
    MALFORMED = "malformed"
    NO_KEY = "no_key"
    TOO_LONG = "too_long"
    NOT_SAVED = "not_saved"  # the reply arrived but could not be written to the database
    TOOL_ROUNDS = "tool_rounds"  # the model kept calling tools past the rounds allowed


# The sentences, marked for translation (desktop_chat/sentences.py).
AUTH_MESSAGE = N_("The server at {where} rejected the API key. Check the key in Settings.")
PERMISSION_MESSAGE = N_("The API key has no access to model '{model}' at {where}.")
NOT_FOUND_MESSAGE = N_(
    "The server at {where} does not know model '{model}' (or this address is not an "
    "OpenAI-compatible API). Pick another model in the agent's settings."
)
RATE_LIMIT_MESSAGE = N_("The server is rate limiting requests or the quota is used up.")
TRY_AGAIN_IN = N_("{sentence} Try again in {seconds} s.")
WAIT_AND_RETRY = N_("{sentence} Wait a moment and try again.")
CONTEXT_MESSAGE = N_(
    "The conversation is too long for model '{model}'. Remove older messages in the "
    "context editor or start a new conversation."
)
SERVER_MESSAGE = N_(
    "The server at {where} had an internal error (HTTP {status}){tail} Try again shortly."
)
REFUSED_MESSAGE = N_("The server at {where} refused the request: {reason}")
UNFINISHED_MESSAGE = N_(
    "The server at {where} ended the reply before finishing it. The partial reply was kept; "
    "use Retry or Continue."
)
NOTHING_SENT_MESSAGE = N_(
    "The server at {where} ended the reply without sending any of it. Some servers do this "
    "when the conversation is longer than the model's context: remove older messages in "
    "the context editor or start a new conversation, then try again."
)
TIMEOUT_MESSAGE = N_(
    "The server at {where} stopped answering (timed out). The partial reply was kept; try again."
)
CUT_MESSAGE = N_(
    "The connection was cut while the reply was streaming. The partial reply was kept; "
    "use Retry or Continue."
)
NO_ANSWER_MESSAGE = N_("The server at {where} did not answer in time (timed out); try again.")
UNTRUSTED_MESSAGE = N_(
    "The server at {where} showed a certificate this computer does not trust. For a private "
    "server or a company proxy, point SSL_CERT_FILE at its certificate authority."
)
UNREACHABLE_MESSAGE = N_(
    "Cannot reach the server at {where}. Is it running, and is the address right?"
)
MALFORMED_MESSAGE = N_(
    "The server at {where} sent a reply that could not be read. The partial reply was kept."
)
UNEXPECTED_MESSAGE = N_("Unexpected error talking to {where}.")


RETRYABLE = {
    ErrorKind.RATE_LIMIT,
    ErrorKind.SERVER,
    ErrorKind.TIMEOUT,
    ErrorKind.CONNECTION,
    ErrorKind.STREAM_CUT,
    ErrorKind.MALFORMED,
}


class LLMError(Exception):
    def __init__(
        self,
        kind: ErrorKind,
        user_message: str,
        *,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        user_message = redact(user_message)
        super().__init__(user_message)
        self.kind = kind
        self.user_message = user_message
        self.retry_after = retry_after
        self.detail = redact(detail)

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "message": self.user_message,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
        }


def _retry_after(response: object) -> float | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        return seconds / 1000 if name.endswith("-ms") else seconds
    return None


# The most of a server's own message shown to the user; the log keeps it whole.
SERVER_TEXT_LIMIT = 300


def _detail_text(detail: object) -> str:
    """FastAPI's `detail` (llama.cpp's server, vLLM): a string, or a list of validation errors."""
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict) and item.get("msg"):
                where = ".".join(str(p) for p in item.get("loc") or ())
                parts.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
        return "; ".join(parts)
    return detail if isinstance(detail, str) else ""


def _server_message(body: object) -> str:
    """What a JSON error body says in words: OpenAI's `error.message` or FastAPI's `detail`."""
    if not isinstance(body, dict):
        return ""
    inner = body.get("error", body)
    if isinstance(inner, str):
        return inner
    if not isinstance(inner, dict):
        return ""
    message = inner.get("message") or _detail_text(inner.get("detail")) or inner.get("code")
    return message if isinstance(message, str) else ""


def _server_text(exc: openai.APIStatusError) -> str:
    """The server's own words for the log: its message, else the whole body as it came."""
    return _server_message(exc.body) or str(exc.body or exc.message)


def _as_sentence(text: str) -> str:
    """A server's message, on one line, cut short, ending like a sentence."""
    text = " ".join(text.split())
    if len(text) > SERVER_TEXT_LIMIT:
        text = text[: SERVER_TEXT_LIMIT - 1].rstrip() + "…"
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _is_context_error(exc: openai.APIStatusError) -> bool:
    text = json.dumps(exc.body, default=str).lower() if exc.body else exc.message.lower()
    return any(
        marker in text
        for marker in (
            "context_length_exceeded",
            "maximum context length",
            "context length",
            "too many tokens",
            "context window",
        )
    )


def unfinished(where: str, started: bool) -> LLMError:
    """A stream that ended (cleanly, as far as HTTP goes) without a finish reason."""
    if started:
        return LLMError(
            ErrorKind.STREAM_CUT,
            UNFINISHED_MESSAGE.format(where=where),
            detail="the stream ended without a finish_reason",
        )
    return LLMError(
        ErrorKind.STREAM_CUT,
        NOTHING_SENT_MESSAGE.format(where=where),
        detail="the stream ended without a chunk or a finish_reason",
    )


def from_exception(exc: BaseException, *, base_url: str, model: str, streaming: bool) -> LLMError:
    """Map an SDK or transport exception; `streaming` means chunks had already arrived."""
    import openai  # already loaded by whoever raised exc; importing it here keeps start-up light

    where = base_url
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = f"HTTP {status} from {where}: {redact(_server_text(exc))}"
        # Shown only when the server put it in words (JSON), never a proxy's HTML page.
        said = _server_message(exc.body).strip()
        server = _as_sentence(redact(said)) if said else ""
        if status == 401:
            return LLMError(
                ErrorKind.AUTH,
                AUTH_MESSAGE.format(where=where),
                detail=detail,
            )
        if status == 403:
            return LLMError(
                ErrorKind.PERMISSION,
                PERMISSION_MESSAGE.format(model=model, where=where),
                detail=detail,
            )
        if status == 404:
            return LLMError(
                ErrorKind.NOT_FOUND,
                NOT_FOUND_MESSAGE.format(where=where, model=model),
                detail=detail,
            )
        if status == 429:
            after = _retry_after(exc.response)
            sentence = RATE_LIMIT_MESSAGE
            return LLMError(
                ErrorKind.RATE_LIMIT,
                TRY_AGAIN_IN.format(sentence=sentence, seconds=f"{after:.0f}")
                if after
                else WAIT_AND_RETRY.format(sentence=sentence),
                retry_after=after,
                detail=detail,
            )
        if status in (400, 413, 422) and _is_context_error(exc):
            return LLMError(
                ErrorKind.CONTEXT_TOO_LONG,
                CONTEXT_MESSAGE.format(model=model),
                detail=detail,
            )
        if status >= 500:
            tail = f": {server}" if server else "."
            return LLMError(
                ErrorKind.SERVER,
                SERVER_MESSAGE.format(where=where, status=status, tail=tail),
                detail=detail,
            )
        return LLMError(
            ErrorKind.BAD_REQUEST,
            REFUSED_MESSAGE.format(where=where, reason=server or f"HTTP {status}."),
            detail=detail,
        )
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return LLMError(
            ErrorKind.TIMEOUT,
            (TIMEOUT_MESSAGE if streaming else NO_ANSWER_MESSAGE).format(where=where),
            detail=repr(exc.__cause__ or exc),
        )
    if isinstance(exc, openai.APIConnectionError) and _caused_by(exc, ssl.SSLCertVerificationError):
        return LLMError(
            ErrorKind.CONNECTION,
            UNTRUSTED_MESSAGE.format(where=where),
            detail=repr(exc.__cause__ or exc),
        )
    if isinstance(exc, openai.APIConnectionError):
        if streaming:
            return LLMError(
                ErrorKind.STREAM_CUT,
                CUT_MESSAGE,
                detail=repr(exc.__cause__ or exc),
            )
        return LLMError(
            ErrorKind.CONNECTION,
            UNREACHABLE_MESSAGE.format(where=where),
            detail=repr(exc.__cause__ or exc),
        )
    if isinstance(
        exc, ValueError | RecursionError | openai.APIResponseValidationError | openai.APIError
    ):
        return LLMError(
            ErrorKind.MALFORMED,
            MALFORMED_MESSAGE.format(where=where),
            detail=repr(exc),
        )
    return LLMError(ErrorKind.SERVER, UNEXPECTED_MESSAGE.format(where=where), detail=repr(exc))


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `kind` is among the exceptions that led to `exc` (the transport wraps them)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
