"""The inference step of crates/histoseg-model/examples/infer_step.rs in PyTorch: the same U-Net
(train_step_torch.UNet) at the shipped model's width, in eval mode without gradients, forward
and sigmoid on a batch of tiles. Usage: infer_step_torch.py BASE_WIDTH BATCH SIDE STEPS THREADS.
Prints one JSON line.
"""
import json
import statistics
import sys
import time

import torch

from train_step_torch import UNet


def main():
    base, batch, side, steps, threads = map(int, sys.argv[1:6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = UNet(depth=4, base=base).eval()
    x = (torch.arange(batch * 3 * side * side) % 255).float().div(255).reshape(batch, 3, side, side)
    times = []
    with torch.inference_mode():
        for step in range(steps + 1):
            start = time.perf_counter()
            p = torch.sigmoid(model(x.clone())).numpy()
            assert p.shape == (batch, 1, side, side)
            if step > 0:
                times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(json.dumps({"impl": "pytorch " + torch.__version__, "base_width": base, "threads": threads,
                      "batch": batch, "side": side, "batch_s": round(median, 4),
                      "megapixels_per_s": round(batch * side * side / median / 1e6, 3)}))


if __name__ == "__main__":
    main()
