"""Losses: cross-entropy, SE loss, class presence, MultiOutputLoss."""
import numpy as np
import paddle
import pytest

from paddleseg.models.losses import CrossEntropyLoss, MultiOutputLoss, SECrossEntropyLoss, class_presence

LABEL = np.array([[[0, 1, 255], [2, 2, 1]],
                  [[255, 0, 0], [1, 255, 2]]], dtype="int64")


def hand_ce(logit, label, weight=None, ignore=255):
    """Weighted mean of -log softmax over non-ignored pixels, in plain numpy."""
    z = logit.transpose(0, 2, 3, 1).astype("float64")
    logp = z - z.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    num = den = 0.0
    for idx in np.ndindex(label.shape):
        if label[idx] == ignore:
            continue
        w = 1.0 if weight is None else weight[label[idx]]
        num += -w * logp[idx][label[idx]]
        den += w
    return num / den


@pytest.fixture
def logit():
    return np.random.default_rng(0).normal(size=(2, 3, 2, 3)).astype("float32")


@pytest.mark.parametrize("weight", [None, [0.2, 1.0, 3.0]])
def test_cross_entropy_matches_hand_computation(logit, weight):
    loss = CrossEntropyLoss(weight=weight)(paddle.to_tensor(logit), paddle.to_tensor(LABEL))
    assert loss.item() == pytest.approx(hand_ce(logit, LABEL, weight), rel=1e-5)


def test_cross_entropy_label_with_channel_axis_and_nhwc(logit):
    expected = hand_ce(logit, LABEL)
    ce = CrossEntropyLoss()
    assert ce(paddle.to_tensor(logit), paddle.to_tensor(LABEL[:, None])).item() == pytest.approx(expected, rel=1e-5)
    nhwc = CrossEntropyLoss(data_format="NHWC")
    got = nhwc(paddle.to_tensor(logit.transpose(0, 2, 3, 1)), paddle.to_tensor(LABEL)).item()
    assert got == pytest.approx(expected, rel=1e-5)


def test_cross_entropy_custom_ignore_index(logit):
    label = np.where(LABEL == 255, 7, LABEL)
    loss = CrossEntropyLoss(ignore_index=7)(paddle.to_tensor(logit), paddle.to_tensor(label))
    assert loss.item() == pytest.approx(hand_ce(logit, label, ignore=7), rel=1e-5)


def test_all_ignored_batch_gives_zero_and_finite_grad(logit):
    x = paddle.to_tensor(logit, stop_gradient=False)
    loss = CrossEntropyLoss(weight=[1.0, 2.0, 3.0])(x, paddle.full([2, 2, 3], 255, dtype="int64"))
    loss.backward()
    assert loss.item() == 0.0
    assert np.isfinite(x.grad.numpy()).all()


def test_top_k_keeps_the_hardest_pixels(logit):
    ce = CrossEntropyLoss(top_k_percent_pixels=0.25)
    full = CrossEntropyLoss()
    label = paddle.to_tensor(np.zeros((2, 2, 3), dtype="int64"))
    top = ce(paddle.to_tensor(logit), label).item()
    z = logit.transpose(0, 2, 3, 1).astype("float64")
    nll = -(z[..., 0] - np.log(np.exp(z).sum(-1))).ravel()
    assert top == pytest.approx(np.sort(nll)[-3:].mean(), rel=1e-5)  # 25% of 12 pixels
    assert top > full(paddle.to_tensor(logit), label).item()


def test_weight_count_mismatch_is_reported(logit):
    with pytest.raises(ValueError, match="2 class weights but the logits have 3 classes"):
        CrossEntropyLoss(weight=[1.0, 2.0])(paddle.to_tensor(logit), paddle.to_tensor(LABEL))


def test_class_presence_ignores_ignored_and_out_of_range():
    label = np.array([[[0, 255], [0, 0]], [[2, 9], [255, 2]], [[255, 255], [255, 255]]], dtype="int64")
    got = class_presence(paddle.to_tensor(label), num_classes=4, ignore_index=255).numpy()
    np.testing.assert_array_equal(got, [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
    got4d = class_presence(paddle.to_tensor(label[:, None]), num_classes=4, ignore_index=255).numpy()
    np.testing.assert_array_equal(got4d, got)


def test_se_loss_matches_hand_bce():
    logit = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.3]], dtype="float32")
    presence = class_presence(paddle.to_tensor(LABEL), 3).numpy()
    np.testing.assert_array_equal(presence, [[1, 1, 1], [1, 1, 1]])
    label = LABEL.copy()
    label[1][label[1] == 1] = 255  # image 1 now lacks class 1
    target = np.array([[1, 1, 1], [1, 0, 1]], dtype="float64")
    x = logit.astype("float64")
    expected = np.mean(np.maximum(x, 0) - x * target + np.log1p(np.exp(-np.abs(x))))
    got = SECrossEntropyLoss()(paddle.to_tensor(logit), paddle.to_tensor(label)).item()
    assert got == pytest.approx(expected, rel=1e-5)
    got4d = SECrossEntropyLoss()(paddle.to_tensor(logit[:, :, None, None]), paddle.to_tensor(label)).item()
    assert got4d == pytest.approx(expected, rel=1e-5)


def test_multi_output_loss_weighted_sum(logit):
    ce, se = CrossEntropyLoss(), SECrossEntropyLoss()
    loss = MultiOutputLoss(types=[ce, ce, se], coef=[1.0, 0.4, 0.2])
    main, aux = paddle.to_tensor(logit), paddle.to_tensor(logit * 2)
    se_logit = paddle.to_tensor([[0.1, 0.2, 0.3], [0.0, -1.0, 1.0]])
    label = paddle.to_tensor(LABEL)
    total, parts = loss([main, aux, se_logit], label)
    expected = [ce(main, label).item(), 0.4 * ce(aux, label).item(), 0.2 * se(se_logit, label).item()]
    np.testing.assert_allclose([p.item() for p in parts], expected, rtol=1e-6)
    assert total.item() == pytest.approx(sum(expected), rel=1e-6)


def test_multi_output_loss_mismatch_errors(logit):
    ce = CrossEntropyLoss()
    with pytest.raises(ValueError, match="2 types but 1 coef"):
        MultiOutputLoss(types=[ce, ce], coef=[1.0])
    loss = MultiOutputLoss(types=[ce, ce], coef=[1.0, 0.4])
    with pytest.raises(ValueError, match="model produced 3 outputs but 2 losses are configured"):
        loss([paddle.to_tensor(logit)] * 3, paddle.to_tensor(LABEL))


def test_multi_output_loss_dict_access_and_ignore_index():
    ce, se = CrossEntropyLoss(), SECrossEntropyLoss()
    loss = MultiOutputLoss(types=[ce, se], coef=[1.0, 0.2])
    assert loss["types"] == [ce, se] and loss["coef"] == [1.0, 0.2]
    with pytest.raises(KeyError):
        loss["weights"]
    assert loss.ignore_index == 255
    loss.ignore_index = 0
    assert ce.ignore_index == 0 and se.ignore_index == 0 and loss.ignore_index == 0
