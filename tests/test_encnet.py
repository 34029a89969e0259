"""ENCNet: PaddleSeg 2.8 checkpoint format and numerical parity, outputs, aux head, export."""
import json
import os

import numpy as np
import paddle
import pytest

from paddleseg.models import ENCNet
from paddleseg.models.backbones import ResNet18_vd, ResNet101_vd
from paddleseg.utils.pretrained import load_pretrained_model

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
from fixtures.synthetic_weights import synthetic_state  # noqa: E402
from export_check import assert_static_matches_dynamic  # noqa: E402


def tiny_encnet(**kwargs):
    args = dict(num_classes=3, backbone=ResNet18_vd(output_stride=8), num_codes=4, mid_channels=16)
    args.update(kwargs)
    return ENCNet(**args)


@pytest.mark.slow
def test_state_dict_matches_paddleseg_r101():
    with open(os.path.join(FIXTURES, "encnet_r101_keys.json")) as f:
        reference = json.load(f)
    model = ENCNet(num_classes=19, backbone=ResNet101_vd(output_stride=8), backbone_indices=[1, 2, 3],
                   num_codes=32, mid_channels=512, use_se_loss=True, add_lateral=True)
    ours = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    assert {n: tuple(s) for n, s in ours} == {n: tuple(s) for n, s in reference}
    assert ours == reference


def test_matches_paddleseg_outputs():
    """Same weights (one part from a PaddleSeg-written .pdparams) -> PaddleSeg 2.8's outputs."""
    ref = np.load(os.path.join(FIXTURES, "encnet_r18_parity.npz"))
    model = ENCNet(num_classes=3, backbone=ResNet18_vd(output_stride=8), backbone_indices=[1, 2, 3],
                   num_codes=8, mid_channels=32, use_se_loss=True, add_lateral=True)
    state = synthetic_state((k, v.shape) for k, v in model.state_dict().items() if k.startswith("backbone."))
    # The backbone's own state dict (the model's would warn once per head tensor it lacks).
    model.backbone.set_state_dict({k[len("backbone."):]: paddle.to_tensor(v)
                                   for k, v in state.items()})
    load_pretrained_model(model, os.path.join(FIXTURES, "encnet_r18_head.pdparams"))
    model.fcn_head.dropout.p = 0.0  # as in the fixture, so the aux output is deterministic
    model.eval()
    with paddle.no_grad():
        for name in ("x64", "x_odd"):
            out = model(paddle.to_tensor(ref[name]))
            assert len(out) == 1
            np.testing.assert_allclose(out[0].numpy(), ref[f"eval_{name}"], atol=1e-4, rtol=1e-4)
        feats = model.backbone(paddle.to_tensor(ref["x64"]))
        for i, feat in enumerate(feats):
            np.testing.assert_allclose(feat.numpy(), ref[f"feat{i}_x64"], atol=1e-4, rtol=1e-4)
    model.train()
    with paddle.no_grad():
        outs = model(paddle.to_tensor(ref["x64"]))
    for out, name in zip(outs, ("main", "aux", "se")):
        np.testing.assert_allclose(out.numpy(), ref[f"train_{name}_x64"], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("add_lateral", [False, True])
def test_training_and_eval_outputs(add_lateral):
    model = tiny_encnet(add_lateral=add_lateral)
    assert hasattr(model, "lateral_convs") == add_lateral
    assert hasattr(model, "fusion") == add_lateral
    x = paddle.randn([2, 3, 64, 48])
    main, aux, se = model(x)
    assert list(main.shape) == [2, 3, 64, 48] and list(aux.shape) == [2, 3, 64, 48]
    assert list(se.shape) == [2, 3]
    (main.mean() + aux.mean() + se.mean()).backward()
    assert model.enc_module.encoding[0].codewords.grad is not None
    model.eval()
    out = model(x)
    assert len(out) == 1 and list(out[0].shape) == [2, 3, 64, 48]


def test_without_se_loss_returns_two_outputs():
    model = tiny_encnet(use_se_loss=False)
    assert not hasattr(model, "se_layer")
    assert len(model(paddle.randn([1, 3, 32, 32]))) == 2


def test_aux_index():
    for indices, aux in (([1, 2, 3], 2), ([3], 2), ([1, 2], 1), ([0, 1], 0), ([0], 0), ([-1], 2)):
        assert tiny_encnet(backbone_indices=indices).aux_index == aux, indices  # follows the stages
    default = tiny_encnet(backbone_indices=[3])
    assert default.fcn_head.conv_bn_relu._conv.weight.shape[1] == 256    # PaddleSeg's output 2
    moved = tiny_encnet(backbone_indices=[1, 2])
    assert moved.fcn_head.conv_bn_relu._conv.weight.shape[1] == 128
    assert list(moved(paddle.randn([1, 3, 32, 32]))[1].shape) == [1, 3, 32, 32]
    custom = tiny_encnet(aux_index=1)
    assert custom.fcn_head.conv_bn_relu._conv.weight.shape[1] == 128
    assert list(custom(paddle.randn([1, 3, 32, 32]))[1].shape) == [1, 3, 32, 32]
    with pytest.raises(ValueError, match="aux_index"):
        tiny_encnet(aux_index=4)
    with pytest.raises(ValueError, match="backbone_indices"):
        tiny_encnet(backbone_indices=[1, 5])


def test_pretrained_loads_whole_model(tmp_path):
    source = tiny_encnet()
    source.eval()
    path = str(tmp_path / "model.pdparams")
    paddle.save(source.state_dict(), path)
    loaded = tiny_encnet(pretrained=str(tmp_path))
    loaded.eval()
    x = paddle.randn([1, 3, 32, 32])
    np.testing.assert_allclose(loaded(x)[0].numpy(), source(x)[0].numpy(), atol=1e-6)


def test_export_with_dynamic_shapes():
    assert_static_matches_dynamic(tiny_encnet(add_lateral=True), [[1, 3, 64, 64], [2, 3, 65, 97]], num_classes=3)