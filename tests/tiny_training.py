"""A BatchNorm-free toy model and dataset for exact trainer comparisons (data parallel vs one
process, accumulation vs a big batch): with no BN and no ignored pixels, the mean loss of a
global batch equals the mean of its per-rank / per-micro-batch means."""
import os
import sys

import numpy as np
import paddle
import paddle.nn as nn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from paddleseg.core.train import Trainer, TrainSettings  # noqa: E402
from paddleseg.models.losses import CrossEntropyLoss, MultiOutputLoss  # noqa: E402

NUM_CLASSES = 3


class TinyNet(nn.Layer):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2D(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2D(8, NUM_CLASSES, 1)

    def forward(self, x):
        return [self.conv2(nn.functional.relu(self.conv1(x)))]


class TinyData(paddle.io.Dataset):
    num_classes = NUM_CLASSES
    ignore_index = 255

    def __init__(self, n=16, size=12):
        rng = np.random.RandomState(0)
        self.imgs = rng.standard_normal((n, 3, size, size)).astype("float32")
        self.labels = (self.imgs[:, 0] > 0).astype("int64") + (self.imgs[:, 1] > 0.5).astype("int64")

    def __getitem__(self, i):
        flip = np.random.rand() < 0.5   # a random augmentation, to check it is reproducible
        img, label = self.imgs[i], self.labels[i]
        if flip:
            img, label = img[:, :, ::-1], label[:, ::-1]
        return {"img": np.ascontiguousarray(img), "label": np.ascontiguousarray(label), "trans_info": []}

    def __len__(self):
        return len(self.imgs)


def build_trainer(model, dataset, optimizer, loss, save_dir, **kwargs):
    """A Trainer from keyword arguments: the Trainer's own (val_dataset, lr_scheduler, hooks), the
    rest TrainSettings fields."""
    own = {k: kwargs.pop(k) for k in ("val_dataset", "lr_scheduler", "hooks") if k in kwargs}
    return Trainer(model, dataset, optimizer, loss, TrainSettings(save_dir=str(save_dir), **kwargs), **own)


def make_trainer(save_dir, iters=3, batch_size=4, accumulate_steps=1, seed=7, **kwargs):
    paddle.seed(0)
    model = TinyNet()
    opt = paddle.optimizer.SGD(learning_rate=0.1, parameters=model.parameters())
    loss = MultiOutputLoss([CrossEntropyLoss()], [1.0])
    kwargs.setdefault("save_interval", 1000)
    return build_trainer(model, TinyData(), opt, loss, save_dir, iters=iters, batch_size=batch_size, log_iters=1,
                         seed=seed, accumulate_steps=accumulate_steps, **kwargs)


def parameters(trainer):
    return {k: v.numpy() for k, v in trainer.model.state_dict().items()}


if __name__ == "__main__":
    # python -m paddle.distributed.launch --nproc_per_node 2 tests/tiny_training.py OUT_DIR BATCH ITERS [RESUME]
    import paddle.distributed as dist
    out_dir, batch, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    paddle.set_device("cpu")
    if dist.get_world_size() > 1:
        dist.init_parallel_env()
    trainer = make_trainer(os.path.join(out_dir, "run"), batch_size=batch, iters=iters,
                           resume_model=sys.argv[4] if len(sys.argv) > 4 else None)
    summary = trainer.run()
    np.savez(os.path.join(out_dir, f"rank{dist.get_rank()}.npz"), **parameters(trainer))
    if dist.get_rank() == 0:
        np.save(os.path.join(out_dir, "losses.npy"), np.array([e["loss"] for e in summary["history"]]))
