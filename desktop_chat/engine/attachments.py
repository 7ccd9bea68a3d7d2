"""Files sent with a message: read, checked and shaped before anything is stored or sent.

Every front end (the window, the command line, the local API) hands a file over as a path
or as bytes with a name; this module turns it into an Attachment and the bytes to keep,
or refuses it with a sentence that names the file and says why. Images are scaled down to
`max_image_side` here, once, so the stored file is the one the model receives; text
files must be UTF-8 (or carry a UTF-16 byte-order mark); PDFs become their text through
pypdf (pure Python, so the bundle needs no native library, and actively maintained).
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_chat.engine.errors import InputError
from desktop_chat.schemas import Attachment, ChatMessage, Message
from desktop_chat.sentences import N_
from desktop_chat.tokens import estimate_tokens

if TYPE_CHECKING:  # Pillow loads with the first image: start-up never needs it
    from PIL import Image

log = logging.getLogger(__name__)

MISSING = N_("{name} cannot be attached: there is no such file.")
FOLDER = N_("{name} cannot be attached: it is a folder. Attach the files inside it instead.")
UNREADABLE = N_("{name} cannot be attached: it cannot be read ({reason}).")
EMPTY_FILE = N_("{name} cannot be attached: the file is empty.")
FILE_TOO_LARGE = N_(
    "{name} cannot be attached: it is {size}, and the limit for one file is {limit} "
    "(Settings, or `attachment_max_file_mb` in the settings file)."
)
MESSAGE_TOO_LARGE = N_(
    "These files are {size} together, and the limit for one message is {limit}. "
    "Send them in several messages."
)
TOO_MANY_FILES = N_("A message can carry at most {limit} files; this one has {count}.")
CORRUPT_IMAGE = N_("{name} cannot be attached: the image is damaged or not an image at all.")
IMAGE_KIND = N_(
    "{name} cannot be attached: {format} images are not supported. Use PNG, JPEG, WebP or GIF."
)
NOT_UTF8 = N_(
    "{name} cannot be attached: its text is not UTF-8. Save it as UTF-8 in your editor "
    "and attach it again."
)
UNSUPPORTED = N_(
    "{name} cannot be attached: only images (PNG, JPEG, WebP, GIF), text files and PDFs "
    "can be sent."
)
BAD_PDF = N_("{name} cannot be attached: the PDF is damaged or locked with a password.")
PDF_NO_TEXT = N_("{name} cannot be attached: the PDF holds no text to read (a scanned document?).")
NO_VISION = N_(
    "{agent} does not read images, so the image was not sent. Choose an agent whose model "
    "reads images, or turn on Vision in its settings if its model can (`desktop-chat agents "
    "edit --vision`)."
)

FILE_GONE = N_("(The attached file {name} is no longer on this computer.)")

IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
# GIFs are sent as the PNG of their first frame: servers that read images read PNG.
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}
_TEXT_MIMES = {"application/json", "application/xml", "application/x-yaml", "application/toml"}


@dataclass(frozen=True)
class Limits:
    """How much a message may carry; from the settings."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_message_bytes: int = 50 * 1024 * 1024
    max_files: int = 10
    max_image_side: int = 2048


@dataclass(frozen=True)
class NewAttachment:
    """An attachment not stored yet: what the message will say about it, and its bytes."""

    meta: Attachment
    data: bytes


class AttachmentError(InputError):
    """A file refused, with the sentence that names it and says why."""


def size_text(size: int) -> str:
    """A size as people read it: 512 bytes, 14 KB, 3.2 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def read_file(path: Path, limits: Limits = Limits()) -> NewAttachment:
    """Read the file at `path`; AttachmentError when it cannot be attached."""
    name = path.name or str(path)
    try:
        if path.is_dir():
            raise AttachmentError(FOLDER.format(name=name))
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            _too_large(name, size, limits)
        data = path.read_bytes()
    except FileNotFoundError:
        raise AttachmentError(MISSING.format(name=name)) from None
    except IsADirectoryError:
        raise AttachmentError(FOLDER.format(name=name)) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise AttachmentError(UNREADABLE.format(name=name, reason=reason)) from None
    return from_bytes(name, data, limits)


def from_bytes(
    name: str,
    data: bytes,
    limits: Limits = Limits(),
    mime: str | None = None,
) -> NewAttachment:
    """An attachment from a file's bytes; its kind is found from the bytes themselves."""
    name = Path(name.replace("\\", "/")).name.strip() or "file"
    if not data:
        raise AttachmentError(EMPTY_FILE.format(name=name))
    if len(data) > limits.max_file_bytes:
        _too_large(name, len(data), limits)
    if data.startswith(b"%PDF-"):
        return _made(name, "application/pdf", "pdf", data, _pdf_text(name, data))
    image = _image(name, data, limits.max_image_side)
    if image is not None:
        return image
    if b"\0" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise AttachmentError(UNSUPPORTED.format(name=name))
    text = _text(name, data)
    text_mime = mime if mime and (mime.startswith("text/") or mime in _TEXT_MIMES) else None
    return _made(name, text_mime or "text/plain", "text", data, text)


def check_message(attachments: list[NewAttachment], limits: Limits) -> None:
    """Refuse a message carrying more files, or more bytes, than the settings allow."""
    if len(attachments) > limits.max_files:
        raise AttachmentError(TOO_MANY_FILES.format(limit=limits.max_files, count=len(attachments)))
    total = sum(len(a.data) for a in attachments)
    if total > limits.max_message_bytes:
        raise AttachmentError(
            MESSAGE_TOO_LARGE.format(
                size=size_text(total), limit=size_text(limits.max_message_bytes)
            )
        )


def refuse_images_without_vision(agent_name: str, vision: bool, kinds: list[str]) -> None:
    """An image must never reach a model that cannot read it: refuse before sending."""
    if not vision and "image" in kinds:
        raise AttachmentError(NO_VISION.format(agent=agent_name))


def file_part(attachment: Attachment, data: bytes) -> dict[str, Any]:
    """One OpenAI content part: an image as a data URL, other files as text naming them."""
    if attachment.kind == "image":
        url = f"data:{attachment.mime};base64,{base64.b64encode(data).decode('ascii')}"
        return {"type": "image_url", "image_url": {"url": url}}
    return {"type": "text", "text": f"Attached file {attachment.name}:\n\n{attachment.text}"}


def carries_images(request: list[ChatMessage]) -> bool:
    return any(
        part.get("type") == "image_url" for message in request for part in message.parts or ()
    )


def request_message(message: Message, folder: Path) -> ChatMessage:
    """A stored message as the request sends it: content parts when it carries files.

    `folder` holds the files (store/files.py). A file gone from it (removed by hand) is
    named in a text part rather than failing the whole request.
    """
    if not message.attachments:
        return message.as_chat()
    parts: list[dict[str, Any]] = []
    if message.content:
        parts.append({"type": "text", "text": message.content})
    for attachment in message.attachments:
        data = b""
        if attachment.kind == "image":
            try:
                data = (folder / attachment.sha256).read_bytes()
            except OSError:
                parts.append({"type": "text", "text": FILE_GONE.format(name=attachment.name)})
                continue
        parts.append(file_part(attachment, data))
    return ChatMessage(role=message.role, content=message.content, parts=parts)


def with_text(attachment: Attachment) -> Attachment:
    """An imported attachment with the text its file says (none when it cannot be read)."""
    data = attachment.data or b""
    try:
        if attachment.kind == "pdf":
            text = _pdf_text(attachment.name, data)
        elif attachment.kind == "text":
            text = _text(attachment.name, data)
        else:
            return attachment
    except AttachmentError:
        text = ""
    return attachment.model_copy(update={"text": text})


def attachment_tokens(attachment: Attachment, folder: Path) -> int:
    """About how many prompt tokens a file costs (for the context editor's estimate).

    Text and PDFs: their text, as the rest of the context is estimated. Images: what
    OpenAI documents for high detail: scaled to fit 2048 x 2048, then to 768 on the short
    side, 170 tokens per 512-pixel tile plus 85. Other servers count their own way.
    """
    if attachment.kind != "image":
        return estimate_tokens(f"Attached file {attachment.name}:\n\n{attachment.text}")
    from PIL import Image

    try:
        with Image.open(folder / attachment.sha256) as image:
            width, height = image.size
    except (OSError, ValueError):
        return 85
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    scale = min(1.0, 768 / min(width, height))
    tiles = math.ceil(width * scale / 512) * math.ceil(height * scale / 512)
    return 85 + 170 * tiles


def kinds_in(messages: Iterable[Message]) -> list[str]:
    """The kinds of file the messages carry (to refuse images to a model without vision)."""
    return [a.kind for m in messages for a in m.attachments]


def _made(name: str, mime: str, kind: str, data: bytes, text: str = "") -> NewAttachment:
    meta = Attachment(
        name=name[:255],
        mime=mime,
        kind=kind,  # type: ignore[arg-type]
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        text=text,
    )
    return NewAttachment(meta, data)


def _too_large(name: str, size: int, limits: Limits) -> None:
    raise AttachmentError(
        FILE_TOO_LARGE.format(
            name=name, size=size_text(size), limit=size_text(limits.max_file_bytes)
        )
    )


def _image(name: str, data: bytes, max_side: int) -> NewAttachment | None:
    """The image, scaled to `max_side`; None when the bytes are not an image at all."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        if _claims_to_be_image(name, data):
            raise AttachmentError(CORRUPT_IMAGE.format(name=name)) from None
        return None
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise AttachmentError(CORRUPT_IMAGE.format(name=name)) from None
    with image:
        kind = image.format or "?"
        if kind not in IMAGE_FORMATS and kind != "GIF":
            raise AttachmentError(IMAGE_KIND.format(name=name, format=kind))
        try:
            image.load()  # a truncated file fails here, not at open()
            if kind == "GIF" or max(image.size) > max_side:
                return _scaled(name, image, kind, max_side)
        except (OSError, ValueError, SyntaxError):
            raise AttachmentError(CORRUPT_IMAGE.format(name=name)) from None
    return _made(name, IMAGE_FORMATS[kind], "image", data)


def _claims_to_be_image(name: str, data: bytes) -> bool:
    """An image's signature or name: bytes that say they are an image and are not one are
    a damaged image, not an unsupported kind of file."""
    signatures = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
    if data.startswith(signatures) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return True
    return Path(name).suffix.lower() in _IMAGE_SUFFIXES


def _scaled(name: str, image: Image.Image, kind: str, max_side: int) -> NewAttachment:
    """Re-encode an image: at most `max_side` pixels a side, a GIF's first frame as PNG."""
    image.seek(0)
    frame = image.copy()
    frame.thumbnail((max_side, max_side))
    out = io.BytesIO()
    if kind == "JPEG":
        frame.convert("RGB").save(out, "JPEG", quality=90)
    elif kind == "WEBP":
        frame.save(out, "WEBP", quality=90)
    else:
        kind = "PNG"
        if frame.mode not in ("RGB", "RGBA", "L", "LA"):
            frame = frame.convert("RGBA")
        frame.save(out, "PNG", optimize=True)
    if kind == "PNG" and not name.lower().endswith(".png"):
        name = f"{Path(name).stem or 'image'}.png"
    return _made(name, IMAGE_FORMATS[kind], "image", out.getvalue())


def _text(name: str, data: bytes) -> str:
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AttachmentError(NOT_UTF8.format(name=name)) from None


def _pdf_text(name: str, data: bytes) -> str:
    from pypdf import PdfReader  # imported on first use: most messages carry no PDF
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise AttachmentError(BAD_PDF.format(name=name))
        pages = [page.extract_text() or "" for page in reader.pages]
    except AttachmentError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.info("PDF %s unreadable: %s", name, type(exc).__name__)
        raise AttachmentError(BAD_PDF.format(name=name)) from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise AttachmentError(PDF_NO_TEXT.format(name=name))
    return text
