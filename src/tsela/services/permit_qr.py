"""QR codes of permit credentials: render with segno, read back with zxing-cpp.

The QR code carries the whole signed token, so a phone or a port scanner verifies it
offline; error correction level M survives a worn or partly dirty card.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
import zxingcpp
from PIL import Image, UnidentifiedImageError


class QRError(ValueError):
    """An image cannot be read or holds no QR code; the message says which."""


def _qr(token: str) -> segno.QRCode:
    return segno.make_qr(token, error="m", boost_error=False, encoding="utf-8")


def render_png(token: str, scale: int = 4) -> bytes:
    buf = io.BytesIO()
    _qr(token).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def render_svg(token: str, scale: int = 4) -> str:
    buf = io.BytesIO()
    _qr(token).save(buf, kind="svg", scale=scale, border=4, xmldecl=False)
    return buf.getvalue().decode("utf-8")


def decode_image(source: Path | bytes) -> list[str]:
    """The text of every QR code in an image file (PNG, JPEG...)."""
    what = str(source) if isinstance(source, Path) else "image"
    try:
        data = source.read_bytes() if isinstance(source, Path) else source
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            gray = img.convert("L")
    except FileNotFoundError:
        raise QRError(f"{what}: no such file") from None
    except UnidentifiedImageError:
        # Pillow's own message names a Python object ("<_io.BytesIO object at 0x...>").
        raise QRError(f"{what}: not a readable image (a photo as PNG, JPEG, GIF or WebP)") from None
    except OSError as exc:
        raise QRError(f"{what}: not a readable image ({exc.strerror or 'damaged file'})") from None
    only_qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    found = zxingcpp.read_barcodes(gray, formats=only_qr)
    texts = [b.text for b in found if b.valid]
    if not texts:
        raise QRError(f"{what}: no QR code found in the image")
    return texts


def looks_like_image(arg: str) -> bool:
    """A CLI argument is an image path (not a token) if it names an existing file."""
    if arg.count(".") == 2 and "/" not in arg and len(arg) > 100:
        return False  # a JWS compact token
    try:
        return Path(arg).is_file()
    except OSError:  # e.g. a name longer than the file system allows
        return False
