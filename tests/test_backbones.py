"""ResNet-vd backbones: PaddleSeg 2.8 checkpoint format, dilation behaviour, forward/backward."""
import json
import os

import numpy as np
import paddle
import pytest

from paddleseg.cvlibs import manager
from paddleseg.models.backbones import ResNet_vd

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
from fixtures.synthetic_weights import synthetic_state  # noqa: E402


def named_shapes(model):
    return [[name, list(t.shape)] for name, t in model.state_dict().items()]


def fill_synthetic(model):
    state = synthetic_state((k, v.shape) for k, v in model.state_dict().items())
    model.set_state_dict({k: paddle.to_tensor(v) for k, v in state.items()})


@pytest.mark.parametrize("depth", [18, 34, 50, 101])
def test_state_dict_matches_paddleseg(depth):
    with open(os.path.join(FIXTURES, f"resnet{depth}_vd_keys.json")) as f:
        reference = json.load(f)
    ours = named_shapes(manager.BACKBONES[f"ResNet{depth}_vd"](output_stride=8))
    assert {n: tuple(s) for n, s in ours} == {n: tuple(s) for n, s in reference}
    assert ours == reference  # same order too


@pytest.mark.parametrize("name,channels", [("ResNet18_vd", [64, 128, 256, 512]),
                                           ("ResNet34_vd", [64, 128, 256, 512]),
                                           ("ResNet50_vd", [256, 512, 1024, 2048]),
                                           pytest.param("ResNet101_vd", [256, 512, 1024, 2048],
                                                        marks=pytest.mark.slow)])
def test_registered_backbone_forward_backward(name, channels):
    paddle.seed(0)
    model = manager.BACKBONES[name](output_stride=8)
    assert model.feat_channels == channels
    size = 32 if name == "ResNet101_vd" else 64  # keeps the 101-layer case cheap
    x = paddle.randn([1, 3, size, size])
    feats = model(x)
    s = size // 4
    assert [list(f.shape) for f in feats] == [[1, channels[0], s, s], [1, channels[1], s // 2, s // 2],
                                              [1, channels[2], s // 2, s // 2], [1, channels[3], s // 2, s // 2]]
    sum(f.mean() for f in feats).backward()
    grad = model.conv1_1._conv.weight.grad
    assert grad is not None and float(paddle.abs(grad).sum().item()) > 0


@pytest.mark.parametrize("output_stride,sizes", [(8, [16, 8, 8, 8]), (16, [16, 8, 4, 4]), (32, [16, 8, 4, 2])])
def test_output_stride(output_stride, sizes):
    model = ResNet_vd(layers=18, output_stride=output_stride)
    model.eval()
    feats = model(paddle.randn([1, 3, 64, 64]))
    assert [f.shape[-1] for f in feats] == sizes


def test_odd_input_uses_ceil_mode_shortcut():
    model = ResNet_vd(layers=18, output_stride=32)
    model.eval()
    feats = model(paddle.randn([1, 3, 49, 57]))
    # 49x57 -> stem 25x29 -> pool 13x15 -> 7x8 -> 4x4 -> 2x2 (ceil everywhere, like the convs)
    assert [list(f.shape[2:]) for f in feats] == [[13, 15], [7, 8], [4, 4], [2, 2]]


@pytest.mark.parametrize("depth,stride,grid", [(18, 16, (1, 2)), (34, 32, (1, 1, 1)),
                                               (50, 16, (1, 2, 4)), (50, 8, (1, 1, 1))])
def test_matches_paddleseg_outputs(depth, stride, grid):
    """Same weights -> same last-stage output as PaddleSeg 2.8 (dilation, padding, vd pooling)."""
    ref = np.load(os.path.join(FIXTURES, "encnet_r18_parity.npz"))
    model = ResNet_vd(layers=depth, output_stride=stride, multi_grid=grid)
    fill_synthetic(model)
    model.eval()
    with paddle.no_grad():
        out = model(paddle.to_tensor(ref["x33"]))[-1].numpy()
    np.testing.assert_allclose(out, ref[f"bb_{depth}_os{stride}_mg{''.join(map(str, grid))}"], atol=1e-4, rtol=1e-4)


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="layers=42"):
        ResNet_vd(layers=42)
    with pytest.raises(ValueError, match="output_stride=4"):
        ResNet_vd(layers=18, output_stride=4)
    with pytest.raises(ValueError, match="multi_grid"):
        ResNet_vd(layers=50, multi_grid=(1, 2))
    with pytest.raises(ValueError, match="width_multiplier=0"):
        ResNet_vd(layers=18, width_multiplier=0)


def test_stem_and_forward_stages_compose_to_forward():
    model = ResNet_vd(layers=18, output_stride=8)
    model.eval()
    x = paddle.randn([1, 3, 40, 56])
    with paddle.no_grad():
        full = model(x)
        early = model.forward_stages(model.stem(x), 0, 2)
        late = model.forward_stages(early[-1], 2, 4)
    for got, want in zip(early + late, full):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)


@pytest.mark.parametrize("layers,channels", [(18, [32, 64, 128, 256]), (50, [128, 256, 512, 1024])])
def test_width_multiplier_scales_every_width_and_keeps_names(layers, channels):
    half = ResNet_vd(layers=layers, width_multiplier=0.5)
    full = ResNet_vd(layers=layers)
    assert half.feat_channels == channels
    assert list(half.state_dict()) == list(full.state_dict())
    assert half.conv1_1._conv.weight.shape == [16, 3, 3, 3]
    feats = half(paddle.randn([1, 3, 32, 32]))
    assert [f.shape[1] for f in feats] == channels
