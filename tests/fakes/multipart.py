"""Reading a multipart/form-data body the way the platforms do: byte by byte, the headers as raw UTF-8.

aiohttp's own reader would unquote a percent-encoded name; the platforms do not (WeCom shows
``%E8%80%83…`` to the recipient), so the fakes keep exactly what the header said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Part:
    """One part of the form."""

    headers: dict[str, str]
    data: bytes
    params: dict[str, str] = field(default_factory=dict)  # of Content-Disposition, quoted values as sent

    @property
    def name(self) -> str:
        """The form field's name."""
        return self.params.get("name", "")


_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)=("([^"]*)"|[^;]*)')


class BadForm(ValueError):
    """The body is not a readable multipart form."""


def parse_form(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart/form-data body; BadForm when it cannot be read."""
    match = re.search(r"boundary=\"?([^\";]+)\"?", content_type)
    if not content_type.startswith("multipart/form-data") or match is None:
        raise BadForm("not multipart/form-data")
    delimiter = b"--" + match.group(1).encode("ascii")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise BadForm("no closing boundary")
    parts = []
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise BadForm("part not framed by CRLF")
        head, sep, data = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise BadForm("part without a blank line after its headers")
        try:
            lines = head.decode("utf-8").split("\r\n")
        except UnicodeDecodeError as exc:
            raise BadForm("headers are not UTF-8") from exc
        headers = {}
        for line in lines:
            key, colon, value = line.partition(":")
            if not colon:
                raise BadForm("bad header line")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = {m.group(1).lower(): m.group(3) if m.group(3) is not None else m.group(2).strip()
                  for m in _PARAM.finditer(disposition)}  # fmt: skip
        parts.append(Part(headers, data, params))
    return parts
