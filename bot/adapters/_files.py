"""What the adapters share for files: the multipart body the platforms' upload endpoints read, and the link text.

WeCom's ``media/upload`` reads the file name from the part's ``Content-Disposition`` and shows it to the
recipient as is: aiohttp's ``FormData`` percent-encodes a non-ASCII name (``filename="%E8%80%83…"``, which
WeCom would show encoded) and the RFC 2231 form ``filename*=utf-8''…`` is refused (44001 / 41005; see
CARDS.md §4.4). So the body is built here byte by byte, with the raw UTF-8 name inside the quotes, as a
browser and ``requests`` send it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.model import Attachment

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # WeCom media/upload and DingTalk media/upload both take files up to 20 MB
MIN_UPLOAD_BYTES = 6  # WeCom: "所有文件size必须大于5个字节"


def uploadable(attachment: Attachment) -> bool:
    """True when the platforms accept the file as a file (else it goes out as a link)."""
    return MIN_UPLOAD_BYTES <= len(attachment.data) <= MAX_UPLOAD_BYTES


def header_name(name: str) -> str:
    """``name`` as it can stand inside a quoted header parameter: no quotes, backslashes or line breaks."""
    return "".join("_" if c in '"\\\r\n' or ord(c) < 0x20 else c for c in name)


def multipart(file_field: str, name: str, data: bytes, *, fields: Sequence[tuple[str, str]] = ()) -> tuple[bytes, str]:
    """(body, Content-Type) of a ``multipart/form-data`` upload with the raw UTF-8 file name.

    ``fields`` are plain form fields sent before the file (DingTalk's ``type=file``). The file part also
    carries ``filelength``, as WeCom's own example of the upload shows.
    """
    boundary = "exambot" + secrets.token_hex(16)
    out = bytearray()
    for key, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
    out += (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{file_field}"; filename="{header_name(name)}"; filelength={len(data)}'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()
    out += data
    out += f"\r\n--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def file_type(name: str) -> str:
    """The extension DingTalk's ``sampleFile`` wants as ``fileType`` (``xlsx``), ``file`` when there is none."""
    _stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and ext and len(ext) <= 10 else "file"


def link_text(attachment: Attachment, tz: ZoneInfo | None = None) -> str:
    """The text that stands for a file where it cannot go as one: its name and the signed, expiring link."""
    until: datetime = attachment.link_expires_at.astimezone(tz or ZoneInfo("Asia/Shanghai"))
    return f"文件：{attachment.name}\n下载链接（{until:%m-%d %H:%M} 前有效，请勿转发）：\n{attachment.link}"
