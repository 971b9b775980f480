"""Registered architectures, by name, so that safetensors weights load without unpickling code.

A submitter's weights name one of :data:`ARCHITECTURES` and its number of classes; the module is
built here and the tensors are copied into it (strict: every key, every shape must match).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from .resnet import HIDDEN_LAYERS, BasicBlock, ResNet10

__all__ = [
    "ARCHITECTURES",
    "HIDDEN_LAYERS",
    "BasicBlock",
    "ResNet10",
    "build",
    "load_weights",
    "register",
    "save_weights",
]

#: name -> factory(num_classes) -> nn.Module
ARCHITECTURES: dict[str, Callable[[int], nn.Module]] = {"resnet10": ResNet10}


def register(name: str, factory: Callable[[int], nn.Module]) -> None:
    """Add an architecture ``factory(num_classes) -> nn.Module`` under ``name`` (names are unique)."""
    if name in ARCHITECTURES:
        raise ValueError(f"architecture {name!r} is already registered; pick another name")
    ARCHITECTURES[name] = factory


def build(name: str, num_classes: int) -> nn.Module:
    """A freshly initialised registered architecture ``name`` with ``num_classes`` outputs."""
    if name not in ARCHITECTURES:
        raise ValueError(f"architecture {name!r} is not registered; registered: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name](num_classes)


def save_weights(model: nn.Module, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write ``model.state_dict()`` (contiguous CPU tensors) to a safetensors file."""
    from safetensors.torch import save_file

    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, str(path), metadata=metadata)


def load_weights(path: str | Path, name: str, num_classes: int) -> nn.Module:
    """Build architecture ``name`` and load safetensors ``path`` into it strictly; returns it in eval mode."""
    from safetensors.torch import load_file

    model = build(name, num_classes)
    sd = load_file(str(path))
    own = model.state_dict()
    missing, extra = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    if missing or extra:
        raise ValueError(f"{path}: weights do not fit architecture {name!r} with {num_classes} classes; "
                         f"missing {missing[:5]}, unexpected {extra[:5]}")
    bad = [k for k in own if tuple(own[k].shape) != tuple(sd[k].shape)]
    if bad:
        k = bad[0]
        raise ValueError(f"{path}: tensor {k!r} has shape {tuple(sd[k].shape)}; architecture {name!r} with "
                         f"{num_classes} classes expects {tuple(own[k].shape)}")
    model.load_state_dict(sd, strict=True)
    return model.eval()
