"""ICNet: branch and CFF shapes on odd sizes, one shared trunk, cascade losses, export."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddleseg.models import ICNet
from paddleseg.models.backbones import ResNet18_vd
from paddleseg.models.layers import CascadeFeatureFusion, SumPyramidPooling
from paddleseg.models.losses import CrossEntropyLoss, MultiOutputLoss

from export_check import assert_static_matches_dynamic


def tiny_icnet(num_classes=5, **kwargs):
    args = dict(num_classes=num_classes, backbone=ResNet18_vd(output_stride=8), low_channels=32,
                fusion_channels=16)
    args.update(kwargs)
    return ICNet(**args)


def _ceil_half(n):
    return (n + 1) // 2


def expected_sizes(h):
    """Spatial sizes along one axis: (high 1/8, medium 1/16, low 1/32, head 1/4)."""
    high = _ceil_half(_ceil_half(_ceil_half(h)))                       # three stride-2 convs
    medium = _ceil_half(_ceil_half(_ceil_half(h // 2)))    # stem conv, max pool, stage 2
    return high, medium, medium // 2, 2 * high


def _record_shapes(model):
    shapes, hooks = {}, []

    def hook(name):
        def fn(layer, inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            shapes[name] = (list(inputs[0].shape), list(out.shape))
        return fn
    for name in ("high_branch", "pyramid", "cff_low_medium", "cff_medium_high", "classifier"):
        hooks.append(getattr(model, name).register_forward_post_hook(hook(name)))
    return shapes, hooks


@pytest.mark.parametrize("h,w", [(1025, 2049), (513, 1025), (97, 131)])
def test_branch_and_cff_shapes_on_odd_sizes(h, w):
    paddle.seed(0)
    model = tiny_icnet(num_classes=3)
    model.eval()
    shapes, _ = _record_shapes(model)
    with paddle.no_grad():
        (out,) = model(paddle.randn([1, 3, h, w]))
    assert list(out.shape) == [1, 3, h, w]
    (hh, mh, lh, oh), (hw, mw, lw, ow) = expected_sizes(h), expected_sizes(w)
    assert shapes["high_branch"][1] == [1, 64, hh, hw]
    assert shapes["pyramid"] == ([1, 512, lh, lw], [1, 32, lh, lw])          # low branch, 1/32
    assert shapes["cff_low_medium"][1] == [1, 16, mh, mw]                    # fused at 1/16
    assert shapes["cff_medium_high"][1] == [1, 16, hh, hw]                   # fused at 1/8
    assert shapes["classifier"][1] == [1, 3, oh, ow]                         # classified at 1/4


def test_training_outputs_are_the_three_cascade_scales():
    model = tiny_icnet(num_classes=4)
    sub124, sub24, sub4 = model(paddle.randn([2, 3, 97, 131]))
    (hh, mh, _, oh), (hw, mw, _, ow) = expected_sizes(97), expected_sizes(131)
    assert list(sub124.shape) == [2, 4, oh, ow]
    assert list(sub24.shape) == [2, 4, hh, hw]
    assert list(sub4.shape) == [2, 4, mh, mw]
    (sub124.mean() + sub24.mean() + sub4.mean()).backward()
    assert model.backbone.conv1_1._conv.weight.grad is not None
    assert model.cff_low_medium.classifier.weight.grad is not None


def _numel(layer):
    return sum(int(np.prod(p.shape)) for p in layer.parameters())


def test_one_trunk_shared_by_medium_and_low_branches():
    model = tiny_icnet(num_classes=3)
    trunk = _numel(ResNet18_vd(output_stride=8))
    heads = _numel(model.high_branch) + _numel(model.pyramid) + _numel(model.cff_low_medium) \
        + _numel(model.cff_medium_high) + _numel(model.classifier)
    # Exactly one trunk's worth of parameters: the two branches do not hold separate copies.
    assert _numel(model) == trunk + heads
    assert _numel(model.backbone) == trunk
    # ...and both branches run through it: stages 0-1 on the medium input, 2-3 on the low one.
    calls = []
    hooks = [model.backbone.stage_list[s][0].register_forward_post_hook(
        lambda layer, inp, out, s=s: calls.append((s, list(inp[0].shape[2:])))) for s in range(4)]
    model.eval()
    with paddle.no_grad():
        model(paddle.randn([1, 3, 128, 256]))
    for hook in hooks:
        hook.remove()
    assert [s for s, _ in calls] == [0, 1, 2, 3]
    assert calls[0][1] == [16, 32]   # 1/2 image after the stem (stride 4): 1/8
    assert calls[2][1] == [4, 8]     # medium output (1/16) halved: 1/32


def test_width_multiplier_halves_the_trunk():
    half = ICNet(3, ResNet18_vd(output_stride=8, width_multiplier=0.5))
    assert half.backbone.feat_channels == [32, 64, 128, 256]
    assert _numel(half.backbone) < 0.3 * _numel(ResNet18_vd(output_stride=8))
    half.eval()
    assert list(half(paddle.randn([1, 3, 65, 97]))[0].shape) == [1, 3, 65, 97]


def _cascade_loss(match_size, coef):
    return MultiOutputLoss([CrossEntropyLoss(match_size=match_size) for _ in coef], coef)


def test_cascade_loss_supervises_each_output_at_its_own_scale():
    paddle.seed(1)
    model = tiny_icnet(num_classes=4)
    x = paddle.randn([2, 3, 64, 96])
    label = paddle.randint(0, 4, [2, 64, 96])
    label[:, :8] = 255
    outputs = model(x)
    total, parts = _cascade_loss("downsample_label", [1.0, 0.4, 0.16])(outputs, label)
    expected = []
    for coef, out in zip([1.0, 0.4, 0.16], outputs):
        small = F.interpolate(label.unsqueeze(1).astype("float32"), size=out.shape[2:], mode="nearest")
        small = small.squeeze(1).astype("int64")
        assert small.shape[1:] == out.shape[2:] and small.shape[1] < 64
        expected.append(coef * CrossEntropyLoss()(out, small))
    for got, want in zip(parts, expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    np.testing.assert_allclose(total.numpy(), sum(e.numpy() for e in expected), rtol=1e-6)

    # mmseg's variant: logits upsampled to the label, aux weights 0.4 / 0.4.
    total_up, parts_up = _cascade_loss("upsample_logit", [1.0, 0.4, 0.4])(outputs, label)
    for coef, out, got in zip([1.0, 0.4, 0.4], outputs, parts_up):
        big = F.interpolate(out, size=[64, 96], mode="bilinear", align_corners=False)
        np.testing.assert_allclose(got.numpy(), (coef * CrossEntropyLoss()(big, label)).numpy(), rtol=1e-6)


def test_size_mismatch_without_match_size_is_a_clear_error():
    with pytest.raises(ValueError, match="match_size"):
        CrossEntropyLoss()(paddle.randn([1, 3, 8, 8]), paddle.zeros([1, 16, 16], "int64"))
    with pytest.raises(ValueError, match="match_size='bilinear'"):
        CrossEntropyLoss(match_size="bilinear")


def test_pyramid_pooling_sums_context_into_the_map():
    layer = SumPyramidPooling(4, 4, bins=[1])
    layer.eval()
    x = paddle.randn([1, 4, 5, 7])
    # With bin 1 the pooled map is the per-channel mean broadcast over the map.
    summed = x + x.mean(axis=[2, 3], keepdim=True)
    np.testing.assert_allclose(layer(x).numpy(), layer.project(summed).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="bins"):
        SumPyramidPooling(4, 4, bins=[0, 2])


def test_cff_resizes_low_to_the_high_size_and_only_trains_aux():
    cff = CascadeFeatureFusion(8, 4, 6, num_classes=3)
    fused, aux = cff(paddle.randn([1, 8, 5, 9]), paddle.randn([1, 4, 9, 17]))
    assert list(fused.shape) == [1, 6, 9, 17] and list(aux.shape) == [1, 3, 9, 17]
    assert float(fused.min()) >= 0.0  # ReLU after the sum
    assert cff.conv_low._conv._dilation == [2, 2]
    cff.eval()
    assert cff(paddle.randn([1, 8, 5, 9]), paddle.randn([1, 4, 9, 17]))[1] is None


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="split_stage"):
        tiny_icnet(split_stage=4)
    with pytest.raises(ValueError, match="lacks"):
        ICNet(3, paddle.nn.Conv2D(3, 3, 1))


def test_export_with_dynamic_shapes():
    assert_static_matches_dynamic(tiny_icnet(num_classes=3), [[1, 3, 64, 64], [2, 3, 97, 131]], num_classes=3)
