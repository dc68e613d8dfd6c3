"""OpenSlide's side of bench/slides_vs_openslide.sh: get_thumbnail and a level-0 read_region,
each on a freshly opened slide; prints the median milliseconds of both, as time_slide_read."""
import sys
import time

import openslide


def median(xs):
    return sorted(xs)[len(xs) // 2]


def main():
    path, max_side, side, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    what = sys.argv[5] if len(sys.argv) > 5 else "both"

    def overview():
        s = openslide.OpenSlide(path)
        s.get_thumbnail((max_side, max_side))
        s.close()

    def region():
        s = openslide.OpenSlide(path)
        w, h = s.dimensions
        rw, rh = min(side, w), min(side, h)
        s.read_region(((w - rw) // 2, (h - rh) // 2), 0, (rw, rh))
        s.close()

    def timed(f):
        out = []
        for _ in range(max(repeats, 1)):
            start = time.perf_counter()
            f()
            out.append((time.perf_counter() - start) * 1e3)
        return median(out)

    o = 0.0 if what == "region" else timed(overview)
    r = 0.0 if what == "overview" else timed(region)
    print(f"{o:.2f} {r:.2f}")


if __name__ == "__main__":
    main()
