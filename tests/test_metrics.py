import numpy as np
import paddle
import pytest

from paddleseg.utils.metrics import confusion_matrix, metrics_from_confusion


def test_confusion_matrix_counts_and_ignore():
    label = paddle.to_tensor([[0, 0, 1, 255], [2, 1, 1, 255]], dtype="int64")
    pred = paddle.to_tensor([[0, 1, 1, 2], [2, 1, 0, 0]], dtype="int64")
    cm = confusion_matrix(pred, label, num_classes=3, ignore_index=255).numpy()
    expected = np.array([[1, 1, 0],   # gt 0: predicted 0 once, 1 once
                         [1, 2, 0],   # gt 1: 1, 1, 0
                         [0, 0, 1]])  # gt 2: 2
    np.testing.assert_array_equal(cm, expected)


def test_metrics_hand_computed():
    cm = np.array([[1, 1, 0], [1, 2, 0], [0, 0, 1]])
    m = metrics_from_confusion(cm, class_names=["a", "b", "c"])
    # IoU_a = 1 / (2 + 2 - 1) ; IoU_b = 2 / (3 + 3 - 2) ; IoU_c = 1
    assert m["class_IoU"] == pytest.approx([1 / 3, 0.5, 1.0])
    assert m["mIoU"] == pytest.approx((1 / 3 + 0.5 + 1.0) / 3)
    assert m["Acc"] == pytest.approx(4 / 6)
    pe = (2 * 2 + 3 * 3 + 1 * 1) / 36
    assert m["Kappa"] == pytest.approx((4 / 6 - pe) / (1 - pe))
    assert m["absent_classes"] == []
    # rows are ground truth: recall_a = 1/2, recall_b = 2/3; columns are predictions: precision_a = 1/2
    assert m["class_recall"] == pytest.approx([1 / 2, 2 / 3, 1.0])
    assert m["class_precision"] == pytest.approx([1 / 2, 2 / 3, 1.0])
    assert m["mAcc"] == pytest.approx((1 / 2 + 2 / 3 + 1.0) / 3)
    # dice = 2 tp / (gt + pred): a 2/4, b 4/6, c 2/2
    assert m["class_dice"] == pytest.approx([0.5, 2 / 3, 1.0])
    assert m["mDice"] == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)
    assert m["mIoU_all_classes"] == pytest.approx(m["mIoU"])


def test_asymmetric_precision_recall_and_mean_accuracy_skip_classes_missing_from_gt():
    cm = np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]])     # class 2 absent from both
    m = metrics_from_confusion(cm)
    assert m["class_recall"] == pytest.approx([3 / 4, 1.0, 0.0])
    assert m["class_precision"] == pytest.approx([1.0, 2 / 3, 0.0])
    assert m["mAcc"] == pytest.approx((3 / 4 + 1.0) / 2)
    assert m["class_dice"] == pytest.approx([6 / 7, 4 / 5, 0.0])
    assert m["mDice"] == pytest.approx((6 / 7 + 4 / 5) / 2)


def test_absent_classes_excluded_from_mean():
    cm = np.zeros((4, 4))
    cm[0, 0] = 5
    cm[1, 1] = 3
    cm[1, 0] = 1
    m = metrics_from_confusion(cm)
    assert m["absent_classes"] == ["2", "3"]
    assert m["mIoU"] == pytest.approx((5 / 6 + 3 / 4) / 2)
    # PaddleSeg 2.8's mean counts the absent classes as 0
    assert m["mIoU_all_classes"] == pytest.approx((5 / 6 + 3 / 4) / 4)


def test_class_only_predicted_counts_in_mean():
    cm = np.array([[2, 2], [0, 0]])  # class 1 never in gt but predicted: IoU 0, included
    m = metrics_from_confusion(cm)
    assert m["class_IoU"] == pytest.approx([0.5, 0.0])
    assert m["mIoU"] == pytest.approx(0.25)


def test_report_names_absent_classes_and_paddleseg_mean():
    from paddleseg.core.val import format_report
    cm = np.zeros((3, 3))
    cm[0, 0], cm[1, 1], cm[1, 0] = 5, 3, 1
    result = {**metrics_from_confusion(cm, class_names=["road", "car", "bus"]), "num_images": 1, "seconds": 1.0}
    report = format_report(result)
    assert "excluded from means): bus" in report
    assert f"absent = 0): {(5 / 6 + 3 / 4) / 3:.4f}" in report
    assert [line.split()[1] for line in report.splitlines() if line.startswith("bus")] == ["-"]
