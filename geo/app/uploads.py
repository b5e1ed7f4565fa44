"""Uploaded site files: read as they stream in against a size limit, zips looked into before anything opens them.

The file is stored under a name the server makes (``upload`` + a known
extension), never under the client's; the client's name is kept as text only.
A zip (a zipped shapefile or GeoPackage, a KMZ) is refused when an entry
escapes its folder, when it holds too many entries, or when it would unpack to
too much or too many times its size (a zip bomb), before any reader opens it.
"""
from __future__ import annotations

import os
import posixpath
import zipfile
from pathlib import Path

from ..errors import RequestTooLarge, SiteInputError

__all__ = ["save_upload", "refuse_bad_zip", "SITE_EXTENSIONS", "MAX_UPLOAD_BYTES"]

#: extensions of site files the check reads
SITE_EXTENSIONS = (".zip", ".geojson", ".json", ".kml", ".kmz", ".ovkml", ".csv", ".xlsx", ".dxf", ".txt", ".gpkg",
                   ".fgb", ".parquet", ".shp")
MAX_UPLOAD_BYTES = 64 << 20
MAX_ENTRIES = 1_000
MAX_UNPACKED_BYTES = 512 << 20
MAX_RATIO = 100  # unpacked bytes per packed byte, per entry and in all


def extension(name: str) -> str:
    """The known site-file extension of a client's file name, or an error naming the formats read."""
    ext = Path(posixpath.basename(str(name).replace("\\", "/"))).suffix.lower()
    if ext not in SITE_EXTENSIONS:
        raise SiteInputError(f"不支持的文件类型 {ext or '(无)'} / unsupported file type {ext or '(none)'}",
                             path=name, hint="upload " + ", ".join(SITE_EXTENSIONS) + " (a shapefile as a .zip)")
    if ext == ".shp":
        raise SiteInputError("单独的 .shp 缺少 .dbf/.shx / a .shp alone lacks its .dbf and .shx", path=name,
                             hint="zip the .shp, .shx, .dbf, .prj (and .cpg) together and upload the .zip")
    return ext


async def save_upload(chunks, folder: Path, name: str, *, limit: int = MAX_UPLOAD_BYTES) -> Path:
    """Write the body ``chunks`` (an async iterator of bytes) to ``folder/upload.EXT``; RequestTooLarge past ``limit``.

    Nothing is left when the upload is refused or breaks off.
    """
    target = folder / f"upload{extension(name)}"
    folder.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with open(target, "xb") as fh:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    mb = f"{limit / (1 << 20):.3g} MB"
                    raise RequestTooLarge(f"上传文件超过 {mb} / the upload exceeds {mb}", path=name,
                                          hint="split the sites into smaller files")
                fh.write(chunk)
        if size == 0:
            raise SiteInputError("上传的文件是空的 / the uploaded file is empty", path=name, hint="choose the file again")
        if target.suffix in (".zip", ".kmz", ".xlsx"):
            refuse_bad_zip(target, name)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def refuse_bad_zip(path: Path, name: str) -> None:
    """Refuse a zip that is not one, escapes its folder, holds too many entries or unpacks to too much."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        raise SiteInputError("不是有效的 zip 文件 / not a readable zip file", path=name,
                             hint="zip the files again and upload the .zip") from None
    if len(infos) > MAX_ENTRIES:
        raise SiteInputError(f"zip 内文件过多（{len(infos)}）/ the zip holds {len(infos)} entries",
                             path=name, hint=f"upload at most {MAX_ENTRIES} files in one zip")
    total = 0
    for info in infos:
        parts = info.filename.replace("\\", "/").split("/")
        if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise SiteInputError(f"zip 内路径越界：{info.filename!r} / a zip entry leaves its folder: "
                                 f"{info.filename!r}", path=name, hint="zip the files without folders outside")
        total += info.file_size
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) + (1 << 20):
            raise SiteInputError(f"zip 内 {info.filename!r} 压缩比异常 / {info.filename!r} unpacks to "
                                 f"{info.file_size} bytes from {info.compress_size}: refused as a zip bomb",
                                 path=name, hint="upload the files unpacked or zipped normally")
    packed = os.path.getsize(path)
    if total > MAX_UNPACKED_BYTES or total > MAX_RATIO * packed + (1 << 20):
        raise SiteInputError(f"zip 解压后过大（{total} 字节）/ the zip unpacks to {total} bytes: refused as a zip bomb",
                             path=name, hint=f"upload at most {MAX_UNPACKED_BYTES >> 20} MB unpacked")
