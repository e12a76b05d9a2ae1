"""Removing a JPEG's metadata without touching its pixels (ITU T.81 / JFIF marker segments).

A JPEG is a run of marker segments before and between the entropy-coded scans. Metadata lives in its own
segments (APP1 Exif and XMP with GPS and camera serials, APP13 IPTC, COM comments, JFIF/JFXX thumbnails),
so dropping those segments and copying the rest byte for byte removes the metadata with no re-encoding:
no generation loss for a dermatologist's detail photo, and no decode of 30 million pixels into memory.
Kept: the tables and frame/scan headers the decoder needs, the ICC colour profile (APP2) and Adobe's
colour-transform flag (APP14). Anything after the end-of-image marker (hidden payloads) is dropped.
"""

from __future__ import annotations

from triage_service.errors import UnprocessableInput

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
#: Application segments kept, by marker and identifier prefix.
_KEEP_APP = ((0xE2, b"ICC_PROFILE\x00"), (0xEE, b"Adobe"))
#: Markers without a length field: restart markers, TEM.
_STANDALONE = {*range(0xD0, 0xD8), 0x01}
_LONGEST_PREFIX = max(len(prefix) for _, prefix in _KEEP_APP)


def _damaged(why: str) -> UnprocessableInput:
    return UnprocessableInput(f"The image/jpeg image cannot be decoded: it is damaged ({why})")


def strip_metadata(data: bytes) -> list[memoryview]:
    """The JPEG without metadata segments, as views into ``data`` in file order.

    Views rather than a new file: the scan of a 20 MB photo is 20 MB, and copying it (twice, with the
    bytearray's growth) was most of an upload's memory. The caller streams the pieces into the
    encrypted store.
    """
    if data[:2] != b"\xff\xd8":
        raise _damaged("no start-of-image marker")
    kept: list[tuple[int, int]] = [(0, 2)]
    position, size = 2, len(data)
    while position < size:
        if data[position] != 0xFF:
            raise _damaged("a segment does not start with a marker")
        while position < size and data[position] == 0xFF:  # fill bytes before a marker are allowed
            position += 1
        if position >= size:
            break
        marker = data[position]
        # Fill bytes are all 0xFF, so the byte before the marker is one: each kept segment is a slice.
        segment_start = position - 1
        position += 1
        if marker == EOI:
            _keep(kept, segment_start, position)
            view = memoryview(data)
            return [view[begin:end] for begin, end in kept]  # whatever follows the image is not kept
        if marker in _STANDALONE or marker == SOI:
            continue
        if position + 2 > size:
            raise _damaged("a segment is cut off")
        length = int.from_bytes(data[position:position + 2], "big")
        end = position + length
        if length < 2 or end > size:
            raise _damaged("a segment is cut off")
        if _kept(marker, data[position + 2:min(end, position + 2 + _LONGEST_PREFIX)]):
            _keep(kept, segment_start, end)
        position = end
        if marker == SOS:
            scan_end = _scan_end(data, position)
            _keep(kept, position, scan_end)
            position = scan_end
    raise _damaged("no end-of-image marker")


def _keep(kept: list[tuple[int, int]], begin: int, end: int) -> None:
    """Add a range, merged with the previous one when they touch (most of a JPEG is kept whole)."""
    if kept[-1][1] == begin:
        kept[-1] = (kept[-1][0], end)
    else:
        kept.append((begin, end))


def _kept(marker: int, payload: bytes) -> bool:
    if 0xE0 <= marker <= 0xEF:
        return any(marker == m and payload.startswith(prefix) for m, prefix in _KEEP_APP)
    return marker != 0xFE  # comments go; tables, frame and scan headers stay


def _scan_end(data: bytes, position: int) -> int:
    """Where the entropy-coded data after a scan header ends: at the first marker that is not a stuffed
    0xFF00 or a restart marker (0xFFD0-0xFFD7)."""
    size = len(data)
    while True:
        found = data.find(b"\xff", position)
        if found < 0 or found + 1 >= size:
            raise _damaged("the image data is cut off")
        following = data[found + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position = found + 2
        elif following == 0xFF:
            position = found + 1
        else:
            return found
