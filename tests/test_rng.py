"""Randomness through explicit generators: transforms draw from the ``rng`` handed down per sample,
a training sample leaves the process-wide generators alone, old-style transforms and datasets
(drawing from ``np.random``) still work and stay reproducible."""
import random

import numpy as np
import paddle
import pytest

import paddleseg.transforms as T
from paddleseg.core.data import SeededSamples, build_train_loader, sample_generator
from paddleseg.cvlibs import Config, SegBuilder, manager
from paddleseg.datasets import Cityscapes
from paddleseg.transforms.rng import accepts_rng


def _sample(seed=0, h=40, w=56):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (h, w, 3)).astype(np.float32)
    label = rng.integers(0, 5, (h, w)).astype(np.uint8)
    return {"img": img, "label": label, "gt_fields": ["label"], "trans_info": []}


def _random_ops():
    return [T.ResizeStepScaling(0.5, 2.0, 0.25), T.ResizeByShort([24, 32, 40]),
            T.Resize([64, 48], interp="RANDOM"), T.RandomPaddingCrop([32, 24]),
            T.RandomHorizontalFlip(), T.RandomVerticalFlip(prob=0.5), T.RandomDistort()]


def _run(pipeline, seed):
    return pipeline(_sample(), rng=np.random.default_rng(seed))


def _batches(loader, n):
    batches = iter(loader)
    try:
        return [next(batches) for _ in range(n)]
    finally:
        batches.close()


def _global_states():
    return np.random.get_state()[1].copy(), random.getstate()


@manager.TRANSFORMS.add_component
class OldStyleJitter:
    """A user's transform written before generators: ``__call__(data)`` drawing from np.random."""

    def __call__(self, data):
        data["img"] = data["img"] + np.random.uniform(0, 10) + random.random()
        return data


def test_every_builtin_transform_takes_rng():
    ops = _random_ops() + [T.Normalize(), T.Padding([64, 64]), T.LimitLong(64), T.ResizeByLong(32)]
    assert all(accepts_rng(op) for op in ops)
    assert not accepts_rng(OldStyleJitter()) and not accepts_rng(lambda data: data)
    assert not T.Compose(ops).uses_global_rng
    assert T.Compose(ops + [OldStyleJitter()]).uses_global_rng


def test_same_generator_seed_same_output_different_seeds_differ():
    pipeline = T.Compose(_random_ops())
    for seed in range(3):
        a, b = _run(pipeline, seed), _run(pipeline, seed)
        np.testing.assert_array_equal(a["img"], b["img"])
        np.testing.assert_array_equal(a["label"], b["label"])
    outputs = [_run(pipeline, seed)["img"] for seed in range(4)]
    assert all(not np.array_equal(outputs[0], other) for other in outputs[1:])


def test_transforms_with_a_generator_leave_the_global_generators_alone():
    before = _global_states()
    _run(T.Compose(_random_ops()), 0)
    after = _global_states()
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1] == after[1]


def test_without_a_generator_transforms_draw_from_np_random():
    pipeline = T.Compose(_random_ops())
    np.random.seed(5)
    a = pipeline(_sample())
    np.random.seed(5)
    b = pipeline(_sample())
    np.testing.assert_array_equal(a["img"], b["img"])
    np.random.seed(6)
    assert not np.array_equal(a["img"], pipeline(_sample())["img"])


@pytest.fixture
def train_set(synthetic_cityscapes):
    def build(*extra):
        return Cityscapes([T.ResizeStepScaling(0.75, 1.25, 0.25), T.RandomPaddingCrop([32, 24]),
                           T.RandomHorizontalFlip(), T.RandomDistort(), *extra, T.Normalize()],
                          synthetic_cityscapes)
    return build


def test_a_training_sample_touches_no_global_generator(train_set):
    samples = SeededSamples(train_set(), seed=3)
    before = _global_states()
    first = samples[6]
    _batches(build_train_loader(train_set(), batch_size=2, seed=3, num_workers=0), 3)
    after = _global_states()
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1] == after[1]
    again = train_set().get_sample(6 % 4, sample_generator(3, 6))
    np.testing.assert_array_equal(first["img"], again["img"])
    assert not np.array_equal(first["img"], samples[7 + 4]["img"])  # same image, later epoch


def test_dataset_getitem_without_a_generator_still_works(train_set):
    ds = train_set()
    np.random.seed(0)
    a = ds[1]
    np.random.seed(0)
    b = ds[1]
    assert a["img"].shape == (3, 24, 32)
    np.testing.assert_array_equal(a["img"], b["img"])


def test_an_old_style_transform_works_and_stays_reproducible(synthetic_cityscapes, tmp_path):
    cfg = tmp_path / "old_style.yml"
    cfg.write_text(f"train_dataset: {{type: Cityscapes, dataset_root: {synthetic_cityscapes}, "
                   "transforms: [{type: RandomHorizontalFlip}, {type: OldStyleJitter}, "
                   "{type: Normalize}]}\n")
    dataset = SegBuilder(Config(str(cfg))).train_dataset
    samples = SeededSamples(dataset, seed=3)
    assert samples.legacy
    before = _global_states()
    a, b, other = samples[5], samples[5], samples[9]
    after = _global_states()
    np.testing.assert_array_equal(a["img"], b["img"])
    assert not np.array_equal(a["img"], other["img"])      # index 9 is image 1 again, in epoch 2
    np.testing.assert_array_equal(before[0], after[0])     # seeded for the sample, then restored
    assert before[1] == after[1]
    assert dataset[0]["img"].shape == (3, 32, 64)            # and works without a generator


class OldStyleDataset(paddle.io.Dataset):
    """A user's dataset with ``__getitem__`` only, augmenting from np.random."""

    def __getitem__(self, i):
        return {"img": np.full((3, 2, 2), i + np.random.rand(), np.float32)}

    def __len__(self):
        return 4


class JitteredCityscapes(Cityscapes):
    """A user's subclass whose own ``__getitem__`` adds noise from np.random."""

    def __getitem__(self, idx):
        data = super().__getitem__(idx)
        data["noise"] = np.random.rand()
        return data


def test_a_subclass_with_its_own_getitem_is_called_and_reproducible(synthetic_cityscapes):
    samples = SeededSamples(JitteredCityscapes([T.RandomHorizontalFlip()], synthetic_cityscapes),
                            seed=2)
    assert samples.legacy and samples[1]["noise"] == samples[1]["noise"] != samples[2]["noise"]


def test_an_old_style_dataset_stays_reproducible():
    samples = SeededSamples(OldStyleDataset(), seed=1)
    assert samples[2]["img"][0, 0, 0] == samples[2]["img"][0, 0, 0]
    assert samples[2]["img"][0, 0, 0] != samples[6]["img"][0, 0, 0]
    assert samples[2]["img"][0, 0, 0] == SeededSamples(OldStyleDataset(), seed=1)[2]["img"][0, 0, 0]


@pytest.mark.timeout(120)
def test_loader_workers_give_the_same_batches(train_set):
    # Each worker process gets the samples' own generators: the batches do not depend on workers.
    alone = _batches(build_train_loader(train_set(), batch_size=2, seed=4, num_workers=0), 3)
    workers = _batches(build_train_loader(train_set(), batch_size=2, seed=4, num_workers=2), 3)
    for a, b in zip(alone, workers):
        np.testing.assert_array_equal(a["img"].numpy(), b["img"].numpy())
        np.testing.assert_array_equal(a["label"].numpy(), b["label"].numpy())
