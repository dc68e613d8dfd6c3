#!/usr/bin/env python3
"""OpenCV parity of `histoseg preprocess` on real TNBC images, and the golden files.

For every TNBC image under ../shared/data/tnbc, runs each stage of our chain through the CLI and
the same stage in OpenCV, and checks that no pixel differs by more than one grey level:

  gaussian  cv2.GaussianBlur(img, (5, 5), 0)                      (border reflect-101, default)
  sharpen   cv2.filter2D(img, -1, [[0,-1,0],[-1,5,-1],[0,-1,0]])   (border reflect-101, default)
  median    cv2.medianBlur(img, 3)                                 (border replicated, its only mode)
  chain     median(sharpen(gaussian(img)))

With REGENERATE=1 it also rewrites the golden files in crates/histoseg-core/tests/data/ from a
synthetic image it makes itself (seeded), so `cargo test` checks parity without Python.

usage: opencv_parity.py HISTOSEG_BINARY [DATA_DIR]
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "crates" / "histoseg-core" / "tests" / "data"
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32)
TOLERANCE = 1


def gaussian(img):
    return cv2.GaussianBlur(img, (5, 5), 0)


def sharpen(img):
    return cv2.filter2D(img, -1, SHARPEN)


def median(img):
    return cv2.medianBlur(img, 3)


STAGES = {
    "gaussian": gaussian,
    "sharpen": sharpen,
    "median": median,
    "gaussian,sharpen,median": lambda img: median(sharpen(gaussian(img))),
}


def synthetic_image(seed, width, height):
    """Noise, a gradient and hard edges: every filter has something to do."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = rng.integers(0, 256, size=(height, width, 3)).astype(np.float64) * 0.5
    img[..., 0] += xx * 255.0 / width * 0.5
    img[..., 1] += (xx // 7 + yy // 5) % 2 * 120
    img[..., 2] += np.where((xx - width / 2) ** 2 + (yy - height / 2) ** 2 < (width / 4) ** 2, 127, 0)
    return np.clip(img, 0, 255).astype(np.uint8)


def regenerate_golden():
    GOLDEN.mkdir(parents=True, exist_ok=True)
    rgb = synthetic_image(7, 48, 40)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    for kind, img in (("rgb", rgb), ("gray", gray)):
        # cv2.imwrite expects BGR; the filters are per channel, so we flip once on the way out.
        write = (lambda p, a: cv2.imwrite(str(p), a[..., ::-1])) if kind == "rgb" else (
            lambda p, a: cv2.imwrite(str(p), a))
        write(GOLDEN / f"synthetic_{kind}.png", img)
        for stage, fn in STAGES.items():
            name = "chain" if "," in stage else stage
            write(GOLDEN / f"synthetic_{kind}.{name}.opencv.png", fn(img))
    print(f"golden files rewritten in {GOLDEN}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    data = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT.parent / "shared" / "data" / "tnbc"
    if os.environ.get("REGENERATE") == "1":
        regenerate_golden()
    images = sorted(data.glob("Slide_*/*.png"))
    if not images:
        sys.exit(f"no TNBC images under {data}")
    passed = failed = 0
    worst = {stage: 0 for stage in STAGES}
    with tempfile.TemporaryDirectory() as tmp:
        for path in images:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            for stage, fn in STAGES.items():
                out = Path(tmp) / "out.png"
                subprocess.run([binary, "preprocess", str(path), "-o", str(out), "--steps", stage],
                               check=True)
                ours = cv2.imread(str(out), cv2.IMREAD_COLOR)
                diff = int(np.abs(ours.astype(np.int16) - fn(img).astype(np.int16)).max())
                worst[stage] = max(worst[stage], diff)
                if diff <= TOLERANCE:
                    passed += 1
                else:
                    failed += 1
                    print(f"FAIL {path.name} {stage}: max difference {diff} grey levels")
    print(f"opencv {cv2.__version__}, {len(images)} TNBC images, worst difference per stage: "
          + ", ".join(f"{s}={d}" for s, d in worst.items()))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
