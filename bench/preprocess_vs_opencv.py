#!/usr/bin/env python3
"""Times the paper's preprocessing chain, ours against OpenCV, on the same images in one run.

Both run on one core (OpenCV with cv2.setNumThreads(1); ours is single-threaded), on real
1360x1024 BreCaHAD images; each figure is the median of REPEATS runs of the whole chain
(Gaussian 5x5, sharpen 3x3, median 3x3). Prints OpenCV's time / ours per image and overall
(above 1: we are faster).

usage: preprocess_vs_opencv.py TIME_PREPROCESS_BINARY [REPEATS]
"""
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
IMAGES = sorted((ROOT.parent / "shared" / "data" / "brecahad" / "images").glob("*.jpg"))[:5]
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32)


def opencv_chain(img):
    blurred = cv2.GaussianBlur(img, (5, 5), 0)
    sharp = cv2.filter2D(blurred, -1, SHARPEN)
    return cv2.medianBlur(sharp, 3)


def opencv_ms(img, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        opencv_chain(img)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary, repeats = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30
    cv2.setNumThreads(1)
    if not IMAGES:
        sys.exit("no BreCaHAD images found under ../shared/data/brecahad/images")
    ratios = []
    print(f"{'image':<20} {'histoseg ms':>12} {'opencv ms':>10} {'ratio':>7}")
    for path in IMAGES:
        ours = float(subprocess.run([binary, str(path), str(repeats)], check=True,
                                    capture_output=True, text=True).stdout)
        theirs = opencv_ms(cv2.imread(str(path), cv2.IMREAD_COLOR), repeats)
        ratios.append(theirs / ours)
        print(f"{path.name:<20} {ours:>12.2f} {theirs:>10.2f} {theirs / ours:>7.2f}")
    print(f"preprocess chain, OpenCV {cv2.__version__} time / histoseg time (1 core, geometric mean): "
          f"{statistics.geometric_mean(ratios):.2f}x")


if __name__ == "__main__":
    main()
