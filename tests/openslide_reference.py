"""OpenSlide's view of a slide, written for the reader's parity test (crates/histoseg-core/tests/openslide_parity.rs).

Usage: openslide_reference.py SLIDE OUT_DIR [REGIONS] [SEED]

Writes OUT_DIR/reference.json (vendor, levels, mpp, objective power, associated images, bounds)
and, for REGIONS random places at random levels (plus each level's corners), the region OpenSlide
reads there as OUT_DIR/region-N.png, composited on white as histoseg shows transparent pixels.
Each associated image is written as OUT_DIR/associated-NAME.png. Region places are given in the
level's own pixels; OpenSlide is asked at a level-0 point that maps back onto that pixel
(see `aligned`).
"""

import json
import math
import random
import sys
from pathlib import Path

import openslide
from PIL import Image


def on_white(img):
    """RGBA (premultiplied by OpenSlide, so transparent is 0,0,0,0) composited on white."""
    white = Image.new("RGBA", img.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, img).convert("RGB")


def aligned(lo, hi, ds, rng):
    """A level coordinate in [lo, hi] whose level-0 point, ceil(x * ds), maps back to within
    0.05 px past x: OpenSlide interpolates a region whose start falls between a level's pixels
    (a level-0 point divided by a downsample such as 4.002), which would blur it against ours,
    and truncates such a start where it places an image (Leica), so it must not fall short."""
    if lo >= hi:
        return lo
    for _ in range(20000):
        x = rng.randint(lo, hi)
        if math.ceil(x * ds) - x * ds <= 0.05 * ds:
            return x
    return lo if lo == 0 else None


def clear_of_the_image_edge(slide, level, x, y, w, h):
    """Whether a region starts on a placed image (Leica's bounds) or ends before it, on levels
    whose downsample is not whole. There OpenSlide's start is a fraction past the pixel (see
    `aligned`), and it truncates (start - image offset) toward zero, which moves the image one
    pixel for a region starting left of or above it: no single answer to compare with."""
    props = slide.properties
    ds = slide.level_downsamples[level]
    if "openslide.bounds-x" not in props or ds == int(ds):
        return True
    bx, by = int(props["openslide.bounds-x"]) / ds, int(props["openslide.bounds-y"]) / ds
    return (x >= math.ceil(bx) or x + w <= math.floor(bx)) and (
        y >= math.ceil(by) or y + h <= math.floor(by))


def places(slide, count, rng):
    """(level, x, y, w, h) in level pixels: the corners of every level, then random places."""
    out = []
    for level, (lw, lh) in enumerate(slide.level_dimensions):
        ds = slide.level_downsamples[level]
        w, h = min(lw, 96), min(lh, 96)
        if clear_of_the_image_edge(slide, level, 0, 0, w, h):
            out.append((level, 0, 0, w, h))
        x = aligned(max(lw - w - 64, 0), lw - w, ds, rng)
        y = aligned(max(lh - h - 64, 0), lh - h, ds, rng)
        if x is not None and y is not None and clear_of_the_image_edge(slide, level, x, y, w, h):
            out.append((level, x, y, w, h))
    while count > 0:
        level = rng.randrange(slide.level_count)
        lw, lh = slide.level_dimensions[level]
        ds = slide.level_downsamples[level]
        w, h = rng.randint(1, min(lw, 300)), rng.randint(1, min(lh, 300))
        x, y = aligned(0, lw - w, ds, rng), aligned(0, lh - h, ds, rng)
        if x is not None and y is not None and clear_of_the_image_edge(slide, level, x, y, w, h):
            out.append((level, x, y, w, h))
            count -= 1
    return out


def main():
    slide_path, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    slide = openslide.OpenSlide(str(slide_path))

    def number(key):
        value = props.get(key)
        return float(value) if value is not None else None

    regions = []
    for n, (level, x, y, w, h) in enumerate(places(slide, count, rng)):
        ds = slide.level_downsamples[level]
        region = {"level": level, "x": x, "y": y, "w": w, "h": h}
        try:
            img = slide.read_region((math.ceil(x * ds), math.ceil(y * ds)), level, (w, h))
        except openslide.OpenSlideError as e:
            # OpenSlide refuses some files' tiles (a slide handle is unusable after an error).
            region["openslide_error"] = str(e)
            regions.append(region)
            slide = openslide.OpenSlide(str(slide_path))
            continue
        region["file"] = f"region-{n}.png"
        on_white(img).save(out_dir / region["file"])
        regions.append(region)
    props = slide.properties
    associated = {}
    for name, img in slide.associated_images.items():
        file = f"associated-{name}.png"
        on_white(img).save(out_dir / file)
        associated[name] = {"width": img.size[0], "height": img.size[1], "file": file}
    bounds = None
    if "openslide.bounds-x" in props:
        bounds = [int(props[f"openslide.bounds-{k}"]) for k in ("x", "y", "width", "height")]
    reference = {
        "openslide": openslide.__library_version__,
        "vendor": props.get("openslide.vendor"),
        "levels": [
            {"width": w, "height": h, "downsample": ds}
            for (w, h), ds in zip(slide.level_dimensions, slide.level_downsamples)
        ],
        "mpp_x": number("openslide.mpp-x"),
        "mpp_y": number("openslide.mpp-y"),
        "objective_power": number("openslide.objective-power"),
        "bounds": bounds,
        "associated": associated,
        "regions": regions,
    }
    (out_dir / "reference.json").write_text(json.dumps(reference, indent=1))


if __name__ == "__main__":
    main()
