"""benchmark.nets: the ResNet-10 layout of Xu et al. 2018, hidden layers, the registry, safetensors round trips."""
import pytest
import torch
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
