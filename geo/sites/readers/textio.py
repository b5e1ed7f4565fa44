"""Text files as Chinese offices write them: UTF-8 (with or without BOM), UTF-16 from Excel, or GBK/GB18030."""
from __future__ import annotations

import codecs
from pathlib import Path

from ...errors import SiteInputError

__all__ = ["detect_encoding", "read_text", "check_encoding_name"]

_BLOCK = 1 << 20


def check_encoding_name(encoding: str, path=None) -> str:
    """The codec name for ``encoding`` (``gbk``, ``utf-8``...), or a one-line error."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError, ValueError):
        raise SiteInputError(f"unknown text encoding {encoding!r}", path=path,
                             hint="use e.g. --encoding utf-8 or --encoding gbk") from None


def _decodes(path: Path, encoding: str, start: int = 0) -> bool:
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open(path, "rb") as f:
            f.seek(start)
            while block := f.read(_BLOCK):
                dec.decode(block, final=False)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path, encoding=None) -> str:
    """The encoding of a text file, read block by block (bounded memory).

    A BOM decides (UTF-8, UTF-16); otherwise valid UTF-8 is UTF-8 and anything
    else must be valid GB18030 (a superset of GBK and GB2312). ``encoding``,
    when given, is checked rather than guessed.

    Raises
    ------
    SiteInputError
        For binary data (NUL bytes in a file without a UTF-16 BOM) or text in
        no supported encoding.
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(4096)
    if encoding:
        name = check_encoding_name(encoding, path)
        if name == "utf-8" and head.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        if not _decodes(path, name):
            raise SiteInputError(f"the text is not valid {encoding}", path=path,
                                 hint="give the right --encoding (utf-8 or gbk) or save the file as UTF-8")
        return name
    if head.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"
    else:
        if b"\x00" in head:
            raise SiteInputError("this is a binary file, not text", path=path,
                                 hint="give a text file (CSV or TXT) or a file whose extension says its format")
        enc = "utf-8" if _decodes(path, "utf-8") else "gb18030"
    if not _decodes(path, enc):
        raise SiteInputError("text encoding not recognised (neither UTF-8 nor GBK)", path=path,
                             hint="save the file as UTF-8, or give --encoding")
    return enc


def read_text(path, encoding=None, *, max_bytes: int = 256 << 20) -> tuple[str, str]:
    """The whole text of a small text file and its encoding."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise SiteInputError(f"file is {size / 2**20:.0f} MB, too large for a coordinate text file", path=path,
                             hint="split it into smaller files")
    enc = detect_encoding(path, encoding)
    text = path.read_bytes().decode(enc)
    if "\x00" in text:
        raise SiteInputError("this is a binary file, not text", path=path, hint="give a text file")
    return text, enc
