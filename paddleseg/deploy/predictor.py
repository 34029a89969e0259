"""Paddle Inference predictors for exported models: CPU (oneDNN, threads), GPU, TensorRT."""
from __future__ import annotations

import re
from typing import List, Optional, Sequence

import numpy as np

from ..utils import logger
from ..utils.errors import CheckpointError, UsageError

# PaddlePaddle 3.3 CPU: with oneDNN on, any PIR graph holding an interpolate op fails at run time
# ("ConvertPirAttribute2RuntimeAttribute not support [pir::ArrayAttribute<pir::DoubleAttribute>]",
# PaddlePaddle issue #79749). Dropping this one pass keeps oneDNN's fused kernels for the rest.
ONEDNN_BROKEN_PASS = "onednn_placement_pass"
# PIR json names ops "<dialect id>.<op>" ("1.bilinear_interp"); text programs say "pd_op.bilinear_interp".
_INTERP_OP = re.compile(r'"(?:\d+|pd_op)\.\w*interp\w*"')


def graph_has_interpolate(model_file: str) -> bool:
    """True when the saved graph contains an interpolate op (PIR json or legacy program)."""
    with open(model_file, "rb") as f:
        text = f.read().decode("utf-8", errors="ignore")
    return bool(_INTERP_OP.search(text)) or "interp_v2" in text


def create_predictor(model_file: str, params_file: str, device: str = "cpu", cpu_threads: int = 1,
                     use_onednn: bool = True, use_trt: bool = False, precision: str = "fp32",
                     gpu_memory_mb: int = 500, gpu_id: int = 0, trt_min_shape: Optional[Sequence[int]] = None,
                     trt_max_shape: Optional[Sequence[int]] = None, trt_opt_shape: Optional[Sequence[int]] = None):
    """A ``paddle.inference`` predictor configured for the device; see the module notes on oneDNN."""
    from paddle import inference

    config = inference.Config(model_file, params_file)
    if device.startswith("gpu"):
        _configure_gpu(config, precision, gpu_memory_mb, gpu_id, use_trt,
                       trt_min_shape, trt_max_shape, trt_opt_shape)
    else:
        _configure_cpu(config, model_file, precision, cpu_threads, use_onednn)
    config.switch_ir_optim(True)
    config.disable_glog_info()
    try:
        return inference.create_predictor(config)
    except RuntimeError as err:
        # Paddle reports a truncated or corrupt file as e.g. "(Unavailable) Cannot read tensor desc
        # size ... (at /paddle/...)": keep its first line, name our files and the remedy.
        reason = _first_line(str(err))
        raise CheckpointError(f"Paddle Inference cannot load the exported model {model_file} with "
                              f"{params_file}: {reason}. The files are truncated or corrupt (or do not "
                              f"belong together); export the model again with export.py.") from err


def _configure_gpu(config, precision: str, gpu_memory_mb: int, gpu_id: int, use_trt: bool,
                   trt_min_shape, trt_max_shape, trt_opt_shape) -> None:
    """GPU with a memory pool; TensorRT (fp32/fp16, dynamic shape ranges) or fp16 GPU kernels."""
    from paddle import inference

    config.enable_use_gpu(gpu_memory_mb, gpu_id)
    if use_trt:
        trt_precision = {"fp32": inference.PrecisionType.Float32,
                         "fp16": inference.PrecisionType.Half}[precision]
        config.enable_tensorrt_engine(workspace_size=1 << 30, max_batch_size=1, min_subgraph_size=3,
                                      precision_mode=trt_precision, use_static=False, use_calib_mode=False)
        if trt_min_shape and trt_max_shape:
            opt = trt_opt_shape or trt_max_shape
            config.set_trt_dynamic_shape_info({"x": list(trt_min_shape)}, {"x": list(trt_max_shape)},
                                              {"x": list(opt)})
    elif precision == "fp16":
        config.enable_use_gpu(gpu_memory_mb, gpu_id, inference.PrecisionType.Half)


def _configure_cpu(config, model_file: str, precision: str, cpu_threads: int, use_onednn: bool) -> None:
    """CPU math threads, oneDNN (without its broken pass on graphs with interpolate), bf16."""
    config.disable_gpu()
    config.set_cpu_math_library_num_threads(cpu_threads)
    if use_onednn:
        config.enable_onednn()
    elif hasattr(config, "disable_onednn"):
        config.disable_onednn()
    if graph_has_interpolate(model_file):
        # Deleted even with oneDNN off: once one oneDNN predictor ran in a process, Paddle 3.3
        # places ops on oneDNN for later predictors too (measured), and the bug comes back.
        config.delete_pass(ONEDNN_BROKEN_PASS)
        if use_onednn:
            logger.info(f"oneDNN on, without {ONEDNN_BROKEN_PASS} (the graph has interpolate ops, which "
                        f"that pass breaks in Paddle 3.3, issue #79749)")
    if precision == "bf16":   # oneDNN's bf16 kernels (backends.check_precision checks the CPU)
        if not use_onednn:
            raise UsageError("--precision bf16 on CPU runs through oneDNN: keep oneDNN on")
        config.enable_onednn_bfloat16()
    elif precision != "fp32":
        logger.warning(f"--precision {precision} is a GPU option; the CPU predictor runs fp32")


def _first_line(message: str) -> str:
    """Paddle's C++ errors: the first non-empty line, without the '[Hint: ...]' / '(at /paddle/...)' tail."""
    line = next((l.strip() for l in message.splitlines() if l.strip()), message.strip())
    line = re.split(r"\s*\[Hint:|\s*\(at /", line)[0]
    return line.strip() or "unreadable"


def run_predictor(predictor, batch: np.ndarray) -> List[np.ndarray]:
    """Runs one N x C x H x W float32 batch; returns every output as a NumPy array."""
    name = predictor.get_input_names()[0]
    handle = predictor.get_input_handle(name)
    handle.reshape(list(batch.shape))
    handle.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
    predictor.run()
    return [predictor.get_output_handle(n).copy_to_cpu() for n in predictor.get_output_names()]
