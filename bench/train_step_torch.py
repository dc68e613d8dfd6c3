"""The same training step as crates/histoseg-model/examples/train_step.rs, in PyTorch.

U-Net (batch norm, bias-free 3x3 convolutions, 2x2 transposed convolutions) and U-Net with a
ResNet-50 encoder (torchvision layout, smp-style decoder 256-128-64-32-16, 3x3 head), BCE +
soft Dice loss, Adam. Usage: train_step_torch.py MODEL DEVICE BATCH SIDE STEPS THREADS.
Prints one JSON line.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_relu(i, o, k=3, s=1):
    return [nn.Conv2d(i, o, k, s, k // 2, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


def double(i, o):
    return nn.Sequential(*conv_bn_relu(i, o), *conv_bn_relu(o, o))


class UNet(nn.Module):
    def __init__(self, depth=4, base=64):
        super().__init__()
        w = [base << i for i in range(depth + 1)]
        self.down = nn.ModuleList([double(3 if i == 0 else w[i - 1], w[i]) for i in range(depth + 1)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(w[i + 1], w[i], 2, 2) for i in reversed(range(depth))])
        self.convs = nn.ModuleList([double(2 * w[i], w[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(base, 1, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)
            if i < len(self.ups):
                skips.append(x)
        for up, conv in zip(self.ups, self.convs):
            x = conv(torch.cat([skips.pop(), up(x)], 1))
        return self.head(x)


class Bottleneck(nn.Module):
    def __init__(self, i, planes, stride):
        super().__init__()
        o = planes * 4
        self.body = nn.Sequential(*conv_bn_relu(i, planes, 1), *conv_bn_relu(planes, planes, 3, stride),
                                  nn.Conv2d(planes, o, 1, bias=False), nn.BatchNorm2d(o))
        self.down = (nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))
                     if stride != 1 or i != o else nn.Identity())

    def forward(self, x):
        return F.relu(self.body(x) + self.down(x))


class UNetResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn_relu(3, 64, 7, 2))
        layers, i = [], 64
        for n, (blocks, planes) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512])):
            stage = []
            for b in range(blocks):
                stage.append(Bottleneck(i, planes, 2 if (b == 0 and n > 0) else 1))
                i = planes * 4
            layers.append(nn.Sequential(*stage))
        self.layers = nn.ModuleList(layers)
        ins, skips, outs = [2048, 256, 128, 64, 32], [1024, 512, 256, 64, 0], [256, 128, 64, 32, 16]
        self.decoder = nn.ModuleList([double(a + s, o) for a, s, o in zip(ins, skips, outs)])
        self.head = nn.Conv2d(16, 1, 3, padding=1)

    def forward(self, x):
        stem = self.stem(x)
        feats = [stem]
        x = F.max_pool2d(stem, 3, 2, 1)
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        skips = feats[:-1]
        for block in self.decoder:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            if skips:
                x = torch.cat([x, skips.pop()], 1)
            x = block(x)
        return self.head(x)


def main():
    model_name, device, batch, side, steps, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dev = torch.device("cuda" if device in ("cuda", "gpu") else "cpu")
    model = (UNet() if model_name == "unet" else UNetResNet50()).to(dev).train()
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (torch.arange(batch * 3 * side * side, device=dev) % 255).float().div(255).reshape(batch, 3, side, side)
    y = (x[:, :1] > 0.5).float()
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        logits = model(x)
        p = torch.sigmoid(logits)
        loss = F.binary_cross_entropy_with_logits(logits, y) + 1 - (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1)
        optim.zero_grad()
        loss.backward()
        optim.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if step > 0:
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(json.dumps({"impl": "pytorch " + torch.__version__, "model": model_name, "device": str(dev),
                      "threads": threads, "batch": batch, "side": side, "step_s": round(median, 4),
                      "images_per_s": round(batch / median, 3)}))


if __name__ == "__main__":
    main()
