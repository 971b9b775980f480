"""benchmark.nets: the ResNet-10 layout of Xu et al. 2018, hidden layers, the registry, safetensors round trips."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.nets import (
    ARCHITECTURES,
    HIDDEN_LAYERS,
    ResNet10,
    build,
    load_weights,
    register,
    save_weights,
)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return ResNet10(7).eval()


def test_layout_matches_the_paper(net):
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    stem = convs[0]
    assert (stem.in_channels, stem.out_channels, stem.kernel_size, stem.stride) == (3, 64, (7, 7), (2, 2))
    assert isinstance(net.stem[1], nn.BatchNorm2d) and isinstance(net.stem[2], nn.ReLU)
    pool = net.stem[3]
    assert isinstance(pool, nn.MaxPool2d) and pool.kernel_size == 3 and pool.stride == 2
    for i, (w, s, c_in) in enumerate(zip((64, 128, 256, 512), (1, 2, 2, 2), (64, 64, 128, 256)), start=1):
        b = getattr(net, f"layer{i}")
        c1 = b.conv1
        assert (c1.in_channels, c1.out_channels, c1.stride, c1.kernel_size) == (c_in, w, (s, s), (3, 3))
        assert (b.conv2.out_channels, b.conv2.stride) == (w, (1, 1))
        sc = b.shortcut[0]  # every block has a 1x1 projection, even layer1 (64 -> 64, stride 1)
        assert (sc.kernel_size, sc.stride, sc.out_channels) == ((1, 1), (s, s), w)
    main_path = 1 + 4 * 2 + 1  # stem + two convs per block + fc: the "10 layers"
    assert len(convs) == main_path - 1 + 4 and net.fc.in_features == 512 and net.fc.out_features == 7
    # conv weights (no biases) + BN affine + fc
    # 9,536 stem + 78,208 + 230,144 + 919,040 + 3,673,088 (blocks) + 3,591 fc
    assert sum(p.numel() for p in net.parameters()) == 4_913_607


@pytest.mark.parametrize("size", [32, 64, 100, 224])
def test_any_input_size_gives_logits_and_512d_embedding(net, size):
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        assert net(x).shape == (2, 7)
        assert net.embed(x).shape == (2, 512)


def test_hidden_layers_are_named_and_consistent_with_forward(net):
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        h = net.hidden(x)
        assert list(h) == list(HIDDEN_LAYERS)
        assert h["stem"].shape == (2, 64, 16, 16) and h["layer1"].shape == (2, 64, 16, 16)
        assert h["layer2"].shape == (2, 128, 8, 8) and h["layer4"].shape == (2, 512, 2, 2)
        assert torch.allclose(h["logits"], net(x), atol=1e-5)
        assert torch.allclose(h["embedding"], h["layer4"].mean((2, 3)), atol=1e-5)
        assert list(net.hidden(x, ["layer3"])) == ["layer3"]
    with pytest.raises(ValueError, match="layer9"):
        net.hidden(x, ["layer9"])


def test_registry_and_safetensors_round_trip(net, tmp_path):
    p = tmp_path / "w.safetensors"
    save_weights(net, p)
    back = load_weights(p, "resnet10", 7)
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        assert torch.equal(back(x), net(x))
    with pytest.raises(ValueError, match="expects"):
        load_weights(p, "resnet10", 5)
    with pytest.raises(ValueError, match="not registered"):
        build("resnet99", 3)
    with pytest.raises(ValueError, match="already registered"):
        register("resnet10", ResNet10)
    assert "resnet10" in ARCHITECTURES
    with pytest.raises(ValueError, match="num_classes"):
        ResNet10(0)


# -- an independent reference: the paper's layout written with torch.nn.functional only -------------------

#: Every weight of ResNet-10 (Xu et al. 2018) and its shape: 7x7/64 stride-2 stem conv + BN; four stages of
#: one basic block at 64/128/256/512 (two 3x3 convs + BN, a 1x1 conv + BN projection shortcut, no conv
#: biases); a linear layer from the 512-d pooled embedding. BN layers also carry running mean and variance.
def _layout(classes: int) -> dict[str, tuple]:
    shapes = {"stem.0.weight": (64, 3, 7, 7), **_bn("stem.1", 64)}
    c_in = 64
    for i, w in enumerate((64, 128, 256, 512), start=1):
        b = f"layer{i}"
        shapes.update({f"{b}.conv1.weight": (w, c_in, 3, 3), **_bn(f"{b}.bn1", w),
                       f"{b}.conv2.weight": (w, w, 3, 3), **_bn(f"{b}.bn2", w),
                       f"{b}.shortcut.0.weight": (w, c_in, 1, 1), **_bn(f"{b}.shortcut.1", w)})
        c_in = w
    shapes.update({"fc.weight": (classes, 512), "fc.bias": (classes,)})
    return shapes


def _bn(name: str, c: int) -> dict[str, tuple]:
    return {f"{name}.{k}": (c,) for k in ("weight", "bias", "running_mean", "running_var")}


def _reference(sd: dict, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The named layers of ResNet-10 in eval mode from the weights ``sd``, by functional ops alone."""
    def bn(y, name):
        return F.batch_norm(y, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"],
                            sd[f"{name}.bias"], training=False, eps=1e-5)

    out = {}
    y = F.relu(bn(F.conv2d(x, sd["stem.0.weight"], stride=2, padding=3), "stem.1"))
    out["stem"] = y = F.max_pool2d(y, kernel_size=3, stride=2, padding=1)
    for i, stride in enumerate((1, 2, 2, 2), start=1):
        b = f"layer{i}"
        h = F.relu(bn(F.conv2d(y, sd[f"{b}.conv1.weight"], stride=stride, padding=1), f"{b}.bn1"))
        h = bn(F.conv2d(h, sd[f"{b}.conv2.weight"], stride=1, padding=1), f"{b}.bn2")
        short = bn(F.conv2d(y, sd[f"{b}.shortcut.0.weight"], stride=stride), f"{b}.shortcut.1")
        out[b] = y = F.relu(h + short)
    out["embedding"] = e = F.adaptive_avg_pool2d(y, 1).flatten(1)
    out["logits"] = F.linear(e, sd["fc.weight"], sd["fc.bias"])
    return out


@pytest.fixture(scope="module")
def trained_like():
    """A ResNet10 in eval mode whose BN layers have non-trivial affine parameters and running
    statistics (at initialisation they are the identity, which would hide a misplaced BN)."""
    torch.manual_seed(1)
    net = ResNet10(5)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.2 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=g))
        net.fc.bias.copy_(torch.randn(5, generator=g))
    return net.eval()


def test_weights_are_exactly_the_papers_layout(trained_like):
    sd = {k: v for k, v in trained_like.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert {k: tuple(v.shape) for k, v in sd.items()} == _layout(5)
    assert all(m.bias is None for m in trained_like.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("size", [64, 77])
def test_forward_matches_a_functional_reference(trained_like, size):
    """forward, embed and every hidden layer equal the functional reference on the same weights
    (eval mode) to 1e-5; 77 px exercises the padding and rounding of every strided layer."""
    x = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(size))
    with torch.no_grad():
        ref = _reference(trained_like.state_dict(), x)
        got = trained_like.hidden(x)
        logits, emb = trained_like(x), trained_like.embed(x)
    assert ref["logits"].abs().max() > 0.1 and ref["layer4"].std() > 0.1   # not a degenerate case
    for name in HIDDEN_LAYERS:
        assert got[name].shape == ref[name].shape, name
        assert torch.allclose(got[name], ref[name], rtol=0, atol=1e-5), (name, (got[name] - ref[name]).abs().max())
    assert torch.allclose(logits, ref["logits"], rtol=0, atol=1e-5)
    assert torch.allclose(emb, ref["embedding"], rtol=0, atol=1e-5)
