"""The reference network of Xu et al. 2018 (arXiv 1811.07807): a 10-layer ResNet.

Layout (the paper's code)::

    stem    7x7/64 conv stride 2 (pad 3, no bias) -> BN -> ReLU -> 3x3 max-pool stride 2 (pad 1)
    layer1  BasicBlock  64 filters, stride 1, 1x1 projection shortcut
    layer2  BasicBlock 128 filters, stride 2, 1x1 projection shortcut
    layer3  BasicBlock 256 filters, stride 2, 1x1 projection shortcut
    layer4  BasicBlock 512 filters, stride 2, 1x1 projection shortcut
    pool    global average pool -> (N, 512) embedding
    fc      linear 512 -> classes

Ten weight layers on the main path (1 stem conv + 4 blocks x 2 convs + 1 linear). Any input size
>= 32 px works (global pooling); a 224 px input gives a 7x7 map at layer4, a 64 px input 2x2.
Inputs are (N, 3, H, W) float tensors, normalised as :data:`benchmark.train.data.MEAN` / ``STD``.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["HIDDEN_LAYERS", "BasicBlock", "ResNet10"]

#: Named hidden layers that :meth:`ResNet10.hidden` can return, in forward order, with shapes for an
#: (N, 3, H, W) input: stem (N, 64, H/4, W/4), layer1 (N, 64, H/4, W/4), layer2 (N, 128, H/8, W/8),
#: layer3 (N, 256, H/16, W/16), layer4 (N, 512, H/32, W/32), embedding (N, 512), logits (N, classes).
HIDDEN_LAYERS = ("stem", "layer1", "layer2", "layer3", "layer4", "embedding", "logits")


class BasicBlock(nn.Module):
    """Two 3x3 convs with BN (ReLU between and after the sum) plus a 1x1 conv + BN projection shortcut.

    (N, c_in, H, W) -> (N, c_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, 0, bias=False), nn.BatchNorm2d(c_out))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class ResNet10(nn.Module):
    """ResNet-10 of Xu et al. 2018 for ``num_classes`` identities.

    ``forward(x)`` (N, 3, H, W) -> logits (N, num_classes); ``embed(x)`` -> (N, 512) after global
    average pooling; ``hidden(x, names)`` -> dict of the named layers in :data:`HIDDEN_LAYERS`.
    Weights use Kaiming-normal (fan_out) for convs, BN gamma 1 / beta 0, PyTorch's default linear init.
    """

    widths = (64, 128, 256, 512)
    strides = (1, 2, 2, 2)

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes: expected an int >= 1, got {num_classes!r}")
        self.num_classes = num_classes
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        c = 64
        for i, (w, s) in enumerate(zip(self.widths, self.strides), start=1):
            setattr(self, f"layer{i}", BasicBlock(c, w, s))
            c = w
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _trunk(self, x: torch.Tensor):
        yield "stem", (x := self.stem(x))
        for i in range(1, 5):
            yield f"layer{i}", (x := getattr(self, f"layer{i}")(x))
        yield "embedding", (e := torch.flatten(self.pool(x), 1))
        yield "logits", self.fc(e)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, 512) globally average-pooled layer4 features."""
        for name, y in self._trunk(x):
            if name == "embedding":
                return y
        raise AssertionError("unreachable")

    def hidden(self, x: torch.Tensor, names: tuple[str, ...] | list[str] = HIDDEN_LAYERS) -> dict[str, torch.Tensor]:
        """Named hidden activations of ``x`` (see :data:`HIDDEN_LAYERS` for names and shapes)."""
        bad = [n for n in names if n not in HIDDEN_LAYERS]
        if bad:
            raise ValueError(f"hidden layers {bad} do not exist; allowed: {list(HIDDEN_LAYERS)}")
        want, out = set(names), {}
        for name, y in self._trunk(x):
            if name in want:
                out[name] = y
            if len(out) == len(want):
                break
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised images -> (N, num_classes) logits."""
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))
