import os
import pickle
import random

import numpy as np
import paddle
import pytest

from paddleseg.utils import checkpoint as ckpt


def _model_and_opt():
    model = paddle.nn.Linear(3, 2)
    sched = paddle.optimizer.lr.PolynomialDecay(0.1, decay_steps=10, end_lr=0.0)
    opt = paddle.optimizer.Momentum(learning_rate=sched, momentum=0.9, parameters=model.parameters())
    return model, opt, sched


def test_save_resume_roundtrip(tmp_path):
    model, opt, sched = _model_and_opt()
    model(paddle.ones([1, 3])).sum().backward()
    opt.step()
    for _ in range(3):
        sched.step()
    ckpt.save_checkpoint(str(tmp_path / "iter_3"), model, opt, meta={"iter": 3, "best_miou": 0.5})
    assert sorted(os.listdir(tmp_path / "iter_3")) == ["meta.json", "model.pdopt", "model.pdparams"]
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temp dirs left behind

    model2, opt2, sched2 = _model_and_opt()
    meta = ckpt.resume(str(tmp_path / "iter_3"), model2, opt2)
    assert meta["iter"] == 3 and meta["best_miou"] == 0.5
    for a, b in zip(model.parameters(), model2.parameters()):
        assert paddle.allclose(a, b).item()
    assert sched2.last_epoch == sched.last_epoch
    assert opt2.get_lr() == pytest.approx(opt.get_lr())


def test_incomplete_checkpoint_ignored_and_pruning(tmp_path):
    model, opt, _ = _model_and_opt()
    for it in (10, 20, 30):
        ckpt.save_checkpoint(str(tmp_path / f"iter_{it}"), model, opt, meta={"iter": it})
    # a directory without meta.json is what a crash before the rename could never produce, but a
    # hand-copied or foreign partial dir must not be picked as "latest"
    os.makedirs(tmp_path / "iter_40")
    assert ckpt.latest_checkpoint(str(tmp_path)).endswith("iter_30")
    removed = ckpt.prune_checkpoints(str(tmp_path), keep=2)
    assert sorted(os.path.basename(p) for p in removed) == ["iter_10", "iter_20"]


def test_overwrite_replaces_atomically(tmp_path):
    model, _, _ = _model_and_opt()
    ckpt.save_checkpoint(str(tmp_path / "best_model"), model, meta={"mIoU": 0.1})
    ckpt.save_checkpoint(str(tmp_path / "best_model"), model, meta={"mIoU": 0.2})
    assert ckpt.read_meta(str(tmp_path / "best_model"))["mIoU"] == 0.2
    assert os.listdir(tmp_path) == ["best_model"]


def test_resume_errors(tmp_path):
    model, opt, _ = _model_and_opt()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ckpt.resume(str(tmp_path / "nope"), model, opt)
    os.makedirs(tmp_path / "weird")
    paddle.save(model.state_dict(), str(tmp_path / "weird" / "model.pdparams"))
    with pytest.raises(ValueError, match="iter_N"):
        ckpt.resume(str(tmp_path / "weird"), model, opt)


def test_paddleseg_style_checkpoint_resumes_by_name(tmp_path):
    model, opt, _ = _model_and_opt()
    d = tmp_path / "iter_7"
    os.makedirs(d)
    paddle.save(model.state_dict(), str(d / "model.pdparams"))
    paddle.save(opt.state_dict(), str(d / "model.pdopt"))
    assert ckpt.resume(str(d), model, opt)["iter"] == 7


def test_optimizer_state_follows_structured_names_across_rebuilds(tmp_path):
    # A second model built in the same process gets different auto-generated parameter names
    # (linear_1.w_0 instead of linear_0.w_0); momentum must still land on the right parameters.
    model, opt, _ = _model_and_opt()
    model(paddle.ones([1, 3])).sum().backward()
    opt.step()
    ckpt.save_checkpoint(str(tmp_path / "iter_1"), model, opt, meta={"iter": 1})
    model2, opt2, _ = _model_and_opt()
    assert model2.weight.name != model.weight.name
    ckpt.resume(str(tmp_path / "iter_1"), model2, opt2)
    velocity = {k: v for k, v in opt.state_dict().items() if "velocity" in k}
    velocity2 = {k: v for k, v in opt2.state_dict().items() if "velocity" in k}
    assert len(velocity2) == len(velocity) == 2
    for p, p2 in zip(model.parameters(), model2.parameters()):
        v = velocity[f"{p.name}_velocity_0"]
        v2 = velocity2[f"{p2.name}_velocity_0"]
        assert paddle.allclose(v, v2).item()


def _dead_pid() -> int:
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _fake_checkpoint(path, complete=True, marker="new"):
    os.makedirs(path)
    with open(os.path.join(path, "model.pdparams"), "w") as f:
        f.write(marker)
    if complete:
        open(os.path.join(path, ckpt.META), "w").write("{}")


def test_recover_interrupted_writes(tmp_path):
    dead = _dead_pid()
    # killed mid-write: an incomplete temporary copy beside the intact old checkpoint
    _fake_checkpoint(tmp_path / "iter_2", marker="old")
    _fake_checkpoint(tmp_path / f".iter_4.tmp-{dead}", complete=False)
    # killed between the renames, the new copy finished: it becomes the checkpoint
    _fake_checkpoint(tmp_path / f".iter_6.old-{dead}", marker="old")
    _fake_checkpoint(tmp_path / f".iter_6.tmp-{dead}", marker="new")
    # killed between the renames before the new copy was complete: the old one comes back
    _fake_checkpoint(tmp_path / f".best_model.old-{dead}", marker="old")
    _fake_checkpoint(tmp_path / f".best_model.tmp-{dead}", complete=False)
    # a write of this (live) process is left alone
    _fake_checkpoint(tmp_path / f".iter_8.tmp-{os.getpid()}", complete=False)

    actions = ckpt.recover_interrupted_writes(str(tmp_path))
    assert len(actions) == 5, actions   # 2 restored, 3 removed
    assert sorted(os.listdir(tmp_path)) == [f".iter_8.tmp-{os.getpid()}", "best_model", "iter_2", "iter_6"]
    assert open(tmp_path / "iter_6" / "model.pdparams").read() == "new"
    assert open(tmp_path / "best_model" / "model.pdparams").read() == "old"
    assert ckpt.latest_checkpoint(str(tmp_path)).endswith("iter_6")
    assert ckpt.recover_interrupted_writes(str(tmp_path)) == []
    assert ckpt.recover_interrupted_writes(str(tmp_path / "missing")) == []


def test_pruning_never_removes_the_newest_good_checkpoint(tmp_path):
    model, opt, _ = _model_and_opt()
    ckpt.save_checkpoint(str(tmp_path / "iter_10"), model, opt, meta={"iter": 10})
    ckpt.save_checkpoint(str(tmp_path / "iter_20"), model, opt, meta={"iter": 20})
    # newer directories that are not complete checkpoints (a foreign copy, an aborted hand edit)
    os.makedirs(tmp_path / "iter_30")
    os.makedirs(tmp_path / "iter_40")
    assert ckpt.prune_checkpoints(str(tmp_path), keep=2) == [str(tmp_path / "iter_10")]
    assert (tmp_path / "iter_20" / "meta.json").exists()
    # and never the checkpoint just written, even when a higher iter_N of an older run is there
    ckpt.save_checkpoint(str(tmp_path / "iter_50"), model, opt, meta={"iter": 50})
    ckpt.save_checkpoint(str(tmp_path / "iter_5"), model, opt, meta={"iter": 5})
    removed = ckpt.prune_checkpoints(str(tmp_path), keep=1, protect=str(tmp_path / "iter_5"))
    assert sorted(os.listdir(tmp_path)) == ["iter_5", "iter_50"], removed


def test_broken_meta_json_is_an_error_naming_it(tmp_path):
    model, opt, _ = _model_and_opt()
    ckpt.save_checkpoint(str(tmp_path / "iter_1"), model, opt, meta={"iter": 1})
    (tmp_path / "iter_1" / "meta.json").write_text("{")
    with pytest.raises(ckpt.BrokenCheckpointError, match=r"cannot read .*iter_1/meta.json"):
        ckpt.resume(str(tmp_path / "iter_1"), model, opt)


def test_optimizer_state_keys_go_to_the_longest_matching_parameter_name():
    # conv2d_31.w_0's moments must not be given to conv2d_3.w_0 (one helper, used by the rename,
    # the fit check and the NaN report, since the checkpoint module was split: issue 13).
    from paddleseg.utils.nonfinite import owner_param
    from paddleseg.utils.optimizer_state import rename_optimizer_state
    assert owner_param("conv2d_31.w_0_velocity_0", ["conv2d_3.w_0", "conv2d_31.w_0"]) == "conv2d_31.w_0"
    assert owner_param("LR_Scheduler", ["conv2d_3.w_0"]) is None
    state = {"conv2d_3.w_0_velocity_0": 1, "conv2d_31.w_0_velocity_0": 2, "LR_Scheduler": {"last_epoch": 3},
             "master_weights": {"conv2d_3.w_0": 4}}
    renamed = rename_optimizer_state(state, {"conv2d_3.w_0": "linear_0.w_0", "conv2d_31.w_0": "linear_1.w_0"})
    assert renamed == {"linear_0.w_0_velocity_0": 1, "linear_1.w_0_velocity_0": 2, "LR_Scheduler": {"last_epoch": 3},
                       "master_weights": {"linear_0.w_0": 4}}


def test_resume_restores_paddle_rng_but_leaves_numpy_and_python_alone(tmp_path):
    # Exact resume needs Paddle's generator (dropout); np.random / random are the process's own
    # (augmentations draw from per-sample generators), so loading a checkpoint must not reset them.
    model, opt, _ = _model_and_opt()
    paddle.seed(11)
    np.random.seed(11)
    random.seed(11)
    ckpt.save_checkpoint(str(tmp_path / "iter_1"), model, opt, meta={"iter": 1},
                         rng_state=ckpt.capture_rng_state())
    expected_dropout = paddle.rand([4]).numpy()
    np.random.seed(99)
    random.seed(99)
    np_before, py_before = np.random.get_state()[1].copy(), random.getstate()
    ckpt.resume(str(tmp_path / "iter_1"), *_model_and_opt()[:2])
    np.testing.assert_array_equal(paddle.rand([4]).numpy(), expected_dropout)
    np.testing.assert_array_equal(np.random.get_state()[1], np_before)
    assert random.getstate() == py_before


@pytest.mark.parametrize("keys", [("paddle", "numpy", "python"), ("numpy", "python")])
def test_checkpoints_with_numpy_and_python_rng_states_still_load(tmp_path, keys):
    model, opt, _ = _model_and_opt()
    ckpt.save_checkpoint(str(tmp_path / "iter_2"), model, opt, meta={"iter": 2})
    state = {"paddle": paddle.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate()}
    with open(tmp_path / "iter_2" / ckpt.RNG_STATE, "wb") as f:
        pickle.dump({k: state[k] for k in keys}, f)
    assert ckpt.resume(str(tmp_path / "iter_2"), *_model_and_opt()[:2])["iter"] == 2
