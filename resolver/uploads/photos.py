"""Photos, checked with Pillow: opened whole (a damaged or oversized picture is refused), the moment
it was taken read from its EXIF, and re-encoded without EXIF, GPS, XMP or comments so the copy anyone
is shown says nothing about where it was taken."""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from flask_babel import lazy_gettext as _l
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..clock import now_utc

PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
# Kept so the served photo still looks right; everything else (EXIF, GPS, XMP, comments, text) goes.
_KEPT_INFO = ("icc_profile", "transparency", "duration", "loop", "background", "disposal")
_EXIF_MOMENT = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_DAMAGED = _l("“%(name)s” looks like a photo but is damaged or incomplete. Please choose it again.")


class PhotoRefused(Exception):
    """The photo cannot be accepted; ``reason`` says why, with ``%(name)s`` where the file's name goes."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LocationNotRemoved(Exception):
    """Re-encoding left GPS data in a photo: it must not be served."""


@dataclass(frozen=True)
class Photo:
    content_type: str
    served: bytes  # the clean copy
    captured_dt: datetime | None
    # The bytes as received, kept for the record, never with where the photo was taken (``for_the_record``).
    kept: bytes


def check_photo(data: bytes, zone: tzinfo) -> Photo:
    """Open the photo whole, read when it was taken (a time without an offset is in ``zone``, where the
    property is), and make the clean copy; or raise PhotoRefused."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRefused(_l("“%(name)s” has too many pixels to check safely. Please send a smaller copy.")) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise PhotoRefused(_DAMAGED) from None
    if image.format not in PHOTO_TYPES:
        raise PhotoRefused(_l("“%(name)s” is not a kind of photo we accept. Please send %(accepted)s."))
    captured = captured_dt(image.getexif(), zone)
    located = has_location(image)  # read before the clean copy drops the metadata
    try:
        served = without_metadata(image)
    except (OSError, ValueError, EOFError, SyntaxError):  # a later frame of an animation is broken
        raise PhotoRefused(_DAMAGED) from None
    except LocationNotRemoved:
        raise PhotoRefused(_l("“%(name)s” carries location data we could not remove. A screenshot of the photo works.")) from None
    kept = for_the_record(data, image.format) if located else data
    return Photo(PHOTO_TYPES[image.format], served, captured, kept=kept or served)


def for_the_record(data: bytes, image_format: str) -> bytes | None:
    """The photo as sent, without where it was taken: a JPEG's own bytes with its GPS directory and any
    XMP naming a place taken out (the picture and the rest of its EXIF untouched). None when that
    cannot be done (another format, blocks that do not read): then the clean copy is the only one kept."""
    if image_format != "JPEG":
        return None
    try:
        kept = _jpeg_without_location(data)
        if kept is None:
            return None
        with Image.open(io.BytesIO(kept)) as check:
            check.load()
            return None if has_location(check) else kept
    except (OSError, ValueError, EOFError, SyntaxError, KeyError, TypeError):
        return None


def _jpeg_without_location(data: bytes) -> bytes | None:
    out, position = bytearray(data[:2]), 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xDA:  # the picture itself: kept exactly as sent
            return bytes(out + data[position:])
        end = position + 2 + int.from_bytes(data[position + 2:position + 4], "big")
        segment = data[position:end]
        if marker == 0xE1 and segment[4:].startswith(b"Exif\0\0"):
            exif = Image.Exif()
            exif.load(segment[4:])
            exif.get_ifd(ExifTags.IFD.Exif)  # read now, so it is written back
            exif.pop(ExifTags.IFD.GPSInfo, None)
            body = exif.tobytes()
            segment = b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body
        elif marker == 0xE1 and b"GPS" in segment:  # an XMP packet that says where
            segment = b""
        out += segment
        position = end
    return None


def has_location(image: Image.Image) -> bool:
    """Whether the photo's EXIF or XMP says where it was taken."""
    xmp = image.info.get("xmp", b"")
    return bool(image.getexif().get_ifd(ExifTags.IFD.GPSInfo)) or b"GPS" in (
        xmp.encode() if isinstance(xmp, str) else xmp)


def without_metadata(image: Image.Image) -> bytes:
    """The same picture, re-encoded with no EXIF (so no GPS), no XMP, no comments."""
    image_format = image.format
    frames = getattr(image, "n_frames", 1)
    if frames == 1:
        # The orientation tag goes with the rest of EXIF, so turn the pixels the right way up first.
        image = ImageOps.exif_transpose(image)
    kept = {k: v for k, v in image.info.items() if k in _KEPT_INFO}
    image.info = dict(kept)
    options: dict = {"exif": b""}
    if image_format == "JPEG":
        options.update(quality=90, icc_profile=kept.get("icc_profile"))
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
    elif image_format in ("GIF", "WEBP", "PNG") and frames > 1:
        options.update(save_all=True)
    if image_format == "WEBP":
        options.update(quality=90, lossless=False)
    out = io.BytesIO()
    image.save(out, format=image_format, **{k: v for k, v in options.items() if v is not None})
    cleaned = out.getvalue()
    with Image.open(io.BytesIO(cleaned)) as check:  # never serve a copy that still says where it was taken
        if has_location(check):
            raise LocationNotRemoved()
    return cleaned


def captured_dt(exif: Image.Exif, zone: tzinfo) -> datetime | None:
    """When the photo was taken, as UTC: the camera's local time, in its stated offset, else in
    ``zone`` (the company's: the photo was almost certainly taken at the property)."""
    details = exif.get_ifd(ExifTags.IFD.Exif)
    raw = details.get(ExifTags.Base.DateTimeOriginal) or details.get(ExifTags.Base.DateTimeDigitized)
    match = _EXIF_MOMENT.match(str(raw or "").strip())
    if not match:
        return None
    try:
        moment = datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    offset = _EXIF_OFFSET.match(str(details.get(ExifTags.Base.OffsetTimeOriginal) or "").strip())
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        zone = timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    aware = moment.replace(tzinfo=zone).astimezone(timezone.utc)
    if aware.year < 1990 or aware > now_utc() + timedelta(days=1):
        return None  # a camera whose clock was never set says nothing useful
    return aware
