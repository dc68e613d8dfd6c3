"""Seed corpora for the fuzz targets: small real files from ../shared/data, and one stored tile
per codec (encoded from a real TNBC image) for `tile_codecs`. Usage: make_seeds.py DATA OUT."""
import io
import shutil
import sys
import zlib
from pathlib import Path

from PIL import Image

data, out = Path(sys.argv[1]), Path(sys.argv[2])
LIMIT = 64 * 1024  # larger seeds make every run slow

slide = out / "slide"
slide.mkdir(parents=True, exist_ok=True)
for path in sorted((data / "slides").rglob("*")):
    if path.is_file() and path.stat().st_size <= LIMIT and path.suffix != ".md":
        shutil.copyfile(path, slide / path.name)

# The tile codecs: the first bytes say compression (index), layout (RGB) and side (64 px).
COMPRESSIONS = [1, 5, 8, 32773, 7, 33003, 33005, 34712]


def lzw(raw: bytes) -> bytes:
    """TIFF's LZW (MSB first, early change); Pillow has no raw encoder for it."""
    table = {bytes([i]): i for i in range(256)}
    codes, width, bits, nbits, word = [256], 9, 0, 0, b""
    out = bytearray()

    def emit(code):
        nonlocal bits, nbits, width
        bits, nbits = (bits << width) | code, nbits + width
        while nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)

    emit(256)
    for b in raw:
        w = word + bytes([b])
        if w in table:
            word = w
            continue
        emit(table[word])
        table[w] = len(table) + 2
        if len(table) + 2 >= (1 << width) and width < 12:
            width += 1
        if len(table) + 2 >= 4094:
            emit(256)
            table, width = {bytes([i]): i for i in range(256)}, 9
        word = bytes([b])
    emit(table[word])
    emit(257)
    if nbits:
        out.append((bits << (8 - nbits)) & 0xFF)
    return bytes(out)


def packbits(raw: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(raw), 128):
        chunk = raw[i : i + 128]
        out.append(len(chunk) - 1)
        out += chunk
    return bytes(out)


image = Image.open(sorted((data / "tnbc" / "Slide_01").glob("*.png"))[0]).convert("RGB")
tile = image.crop((100, 100, 164, 164))
raw = tile.tobytes()


def encoded(fmt, **options):
    buf = io.BytesIO()
    tile.save(buf, fmt, **options)
    return buf.getvalue()


j2k = encoded("JPEG2000", no_jp2=True)
stored = {1: raw, 5: lzw(raw), 8: zlib.compress(raw), 32773: packbits(raw), 7: encoded("JPEG", quality=80),
          33003: j2k, 33005: j2k, 34712: j2k}
codecs = out / "tile_codecs"
codecs.mkdir(parents=True, exist_ok=True)
for index, compression in enumerate(COMPRESSIONS):
    (codecs / f"{compression}.tile").write_bytes(bytes([index, 0, 2]) + stored[compression])
