"""One interface over the inference runtimes: Paddle Inference, ONNX Runtime and OpenVINO.

``backend(batch)`` takes an N x C x H x W float32 batch (the deploy transforms' output) and
returns the exported model's output (class ids for output op argmax, else probabilities or
logits), the same array whichever runtime computes it; pre- and post-processing stay with the
caller (tools/infer.py, val.py / tools/predict.py through paddleseg/deploy/engine.py). Paddle
Inference reads the static model (``model.json`` + ``model.pdiparams``); ONNX Runtime and
OpenVINO read its ONNX conversion (tools/export_onnx.py writes it and records it in deploy.yaml
as ``Deploy.onnx``).

Precisions: fp32 everywhere; bf16 on CPUs with native bf16 (Paddle Inference through oneDNN's
bf16 switch, OpenVINO through its inference precision hint; ONNX Runtime's CPU provider has
none); int8 is OpenVINO on the NNCF-quantized IR (paddleseg/deploy/quantize.py, recorded as
``Deploy.int8``); fp16 is Paddle Inference on GPU. Every refusal is a one-line UsageError saying
what to use instead.
"""
from __future__ import annotations

import functools
import importlib
import os
from typing import Any, Optional, Sequence

import numpy as np

from ..utils import logger
from ..utils.errors import CheckpointError, UsageError, UserError

BACKENDS = ("paddle", "onnxruntime", "openvino")
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
# what each runtime offers, as the benchmarks run them: on a CPU, and with --device gpu
CPU_COMBOS = (("paddle", "fp32"), ("paddle", "bf16"), ("onnxruntime", "fp32"), ("openvino", "fp32"),
              ("openvino", "bf16"), ("openvino", "int8"))
GPU_COMBOS = (("paddle", "fp32"), ("paddle", "fp16"))   # Paddle Inference only
RUNTIME_PACKAGES = ("paddlepaddle", "paddle2onnx", "onnxruntime", "openvino")
INSTALL_HINTS = {"onnxruntime": 'pip install onnxruntime (or pip install -e ".[onnx]")',
                 "openvino": 'pip install openvino (or pip install -e ".[openvino]")',
                 "nncf": 'pip install nncf (or pip install -e ".[openvino]")'}
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=None)   # asked on every backend load; the CPU does not change
def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when the CPU computes bf16 natively (one of BF16_CPU_FLAGS among its flags).

    Without it runtimes emulate bf16 in fp32 code paths: slower than fp32, so it is refused.
    """
    try:
        with open(cpuinfo) as f:
            flags = {word for line in f if line.startswith("flags")
                     for word in line.split(":", 1)[1].split()}
    except OSError:     # not Linux: cannot tell, so do not promise bf16
        return False
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def runtime_versions() -> dict:
    """Installed version of each runtime package ("not installed" where missing), for reports."""
    from importlib.metadata import PackageNotFoundError, version
    found = {}
    for package in RUNTIME_PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def check_precision(backend: str, precision: str, device: str = "cpu") -> None:
    """Refuses (UsageError) a backend x precision x device combination that cannot run as asked."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
    if precision == "fp32":
        return
    if precision == "fp16":
        if backend != "paddle":
            raise UsageError(f"--precision fp16 is a GPU option of the paddle backend; {backend} "
                             f"runs on the CPU here: use fp32, or bf16 with openvino")
        return   # Paddle Inference on CPU warns and runs fp32, as before
    if precision == "int8":
        if backend != "openvino" or device.startswith("gpu"):
            raise UsageError("--precision int8 runs through OpenVINO on the CPU (an NNCF-quantized "
                             "model): use --backend openvino")
        return
    if precision != "bf16":
        raise UsageError(f"unknown precision {precision!r}: one of {', '.join(PRECISIONS)}")
    if device.startswith("gpu"):
        raise UsageError("--precision bf16 is a CPU option (oneDNN / OpenVINO); on GPU use fp16")
    if backend == "onnxruntime":
        raise UsageError("ONNX Runtime's CPU provider has no bf16 kernels: use --backend openvino "
                         "(or paddle) for bf16, or fp32 with onnxruntime")
    if not cpu_has_bf16():
        raise UsageError(f"--precision bf16 needs a CPU with native bf16 "
                         f"({' or '.join(BF16_CPU_FLAGS)} in /proc/cpuinfo); this one has neither: "
                         f"use fp32")


def import_runtime(module: str) -> Any:
    """Imports an optional runtime; missing -> one line with the pip command."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise UserError(f"{module} is not installed: {INSTALL_HINTS[module]}") from err


class Backend:
    """A loaded model. Call it on an N x C x H x W float32 batch; returns the model's first output.

    ``fixed_shape``: the input shape the model was exported with (-1 = any), checked on each call.
    """

    name = ""

    def __init__(self, threads: int, precision: str) -> None:
        self.threads = threads
        self.precision = precision
        self.fixed_shape: Optional[Sequence[int]] = None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self.fixed_shape is not None and any(
                want not in (-1, None) and want != got
                for want, got in zip(self.fixed_shape, batch.shape)):
            raise UsageError(f"the model was exported for inputs {list(self.fixed_shape)} "
                             f"(-1 = any), this batch is {list(batch.shape)}: export again with a "
                             f"matching --input_shape (or none)")
        return self.run(np.ascontiguousarray(batch, dtype=np.float32))

    def run(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class PaddleBackend(Backend):
    """Paddle Inference (paddleseg/deploy/predictor.py: oneDNN on CPU, GPU and TensorRT options)."""

    name = "paddle"

    def __init__(self, model_file: str, params_file: str, threads: int, precision: str,
                 **predictor_kwargs) -> None:
        from .predictor import create_predictor
        super().__init__(threads, precision)
        self.predictor = create_predictor(model_file, params_file, cpu_threads=threads,
                                          precision=precision, **predictor_kwargs)

    def run(self, batch: np.ndarray) -> np.ndarray:
        from .predictor import run_predictor
        return run_predictor(self.predictor, batch)[0]


class OnnxRuntimeBackend(Backend):
    """ONNX Runtime, CPU execution provider, ``threads`` intra-op threads."""

    name = "onnxruntime"

    def __init__(self, onnx_file: str, threads: int, precision: str) -> None:
        super().__init__(threads, precision)
        ort = import_runtime("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # paddle2onnx leaves unused initializers: a warning each
        state = ort.capi.onnxruntime_pybind11_state  # its load errors share no base but Exception
        names = ("Fail", "InvalidArgument", "InvalidProtobuf", "InvalidGraph", "NoSuchFile")
        load_errors = tuple(getattr(state, n) for n in names if hasattr(state, n))
        try:
            self.session = ort.InferenceSession(onnx_file, options,
                                                providers=["CPUExecutionProvider"])
        except load_errors as err:
            raise _unreadable(onnx_file, err) from err
        self.input_name = self.session.get_inputs()[0].name

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class OpenVINOBackend(Backend):
    """OpenVINO on the CPU: an ONNX file, or for int8 the quantized IR (.xml) whose quantized ops
    run int8; the other ops run at INFERENCE_PRECISION_HINT: bf16 for bf16, and for int8 on CPUs
    with native bf16, else f32."""

    name = "openvino"

    def __init__(self, onnx_file: str, threads: int, precision: str) -> None:
        super().__init__(threads, precision)
        ov = import_runtime("openvino")
        # f32 is set explicitly: on CPUs with bf16 OpenVINO's default hint is bf16 (measured on
        # OpenVINO 2026.4), which would make "fp32" silently bf16. int8 keeps that default for its
        # unquantized ops (ICNet-R18 at 384x768, 2 threads: 141 ms against 179 ms with f32).
        bf16 = precision == "bf16" or (precision == "int8" and cpu_has_bf16())
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32"}
        try:
            self.compiled = ov.Core().compile_model(onnx_file, "CPU", config)
        except RuntimeError as err:
            raise _unreadable(onnx_file, err) from err
        self.request = self.compiled.create_infer_request()

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.request.infer({0: batch})
        return self.request.get_output_tensor(0).data.copy()   # the request reuses its buffer


def _unreadable(onnx_file: str, err: Exception) -> CheckpointError:
    # OpenVINO stacks "Exception from src/...:N:" lines above the reason
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    reason = next((line for line in lines if not line.startswith("Exception from")),
                  type(err).__name__)
    return CheckpointError(f"cannot load the ONNX model {onnx_file}: {reason[:300]}. Convert it "
                           f"again with tools/export_onnx.py")


def open_backend(name: str, threads: int, precision: str = "fp32", *,
                 model_file: Optional[str] = None, params_file: Optional[str] = None,
                 onnx_file: Optional[str] = None, device: str = "cpu",
                 **predictor_kwargs) -> Backend:
    """Loads a backend by name: 'paddle' from ``model_file`` + ``params_file`` (``predictor_kwargs``
    go to create_predictor: use_onednn, use_trt, ...), the others from ``onnx_file`` (for int8:
    the quantized OpenVINO IR), on the CPU."""
    check_precision(name, precision, device)
    if name == "paddle":
        backend: Backend = PaddleBackend(model_file, params_file, threads, precision,
                                         device=device, **predictor_kwargs)
    elif name == "onnxruntime":
        backend = OnnxRuntimeBackend(onnx_file, threads, precision)
    else:
        backend = OpenVINOBackend(onnx_file, threads, precision)
    logger.info(f"Inference backend {name}, {precision}, {threads} thread(s)"
                + (f", on {device}" if name == "paddle" else f", {onnx_file}"))
    return backend


def backend_for_deploy(name: str, deploy, threads: int, precision: str = "fp32",
                       device: str = "cpu", **predictor_kwargs) -> Backend:
    """The backend ``name`` on an exported model's DeployConfig; an ONNX backend needs
    ``Deploy.onnx`` (int8: ``Deploy.int8``), see :func:`derived_file`."""
    onnx_file = None
    if name in ("onnxruntime", "openvino"):
        if device.startswith("gpu"):
            raise UsageError(f"--backend {name} runs on the CPU here: use --device cpu (or "
                             f"--backend paddle on GPU)")
        check_precision(name, precision)
        onnx_file = derived_file(deploy, "int8" if precision == "int8" else "onnx", name)
    backend = open_backend(name, threads, precision, model_file=deploy.model_file,
                           params_file=deploy.params_file, onnx_file=onnx_file, device=device,
                           **predictor_kwargs)
    if onnx_file:   # the ONNX runtimes reject other shapes with a long message of their own
        backend.fixed_shape = deploy.input_shape
    return backend


def derived_file(deploy, key: str, backend: str) -> str:
    """``Deploy.onnx`` / ``Deploy.int8`` of ``deploy``; missing -> one line with the command that
    makes it."""
    folder = os.path.dirname(deploy.path) or "."
    command = {"onnx": f"python tools/export_onnx.py --config {deploy.path} --save_file "
                       f"{os.path.join(folder, 'model.onnx')}",
               "int8": f"python tools/quantize.py --config {deploy.path} "
                       f"--calib_images IMAGE_DIR"}[key]
    what = {"onnx": "ONNX model", "int8": "int8 model"}[key]
    path = getattr(deploy, f"{key}_file")
    if path is None:
        raise UserError(f"{deploy.path} records no {what} (Deploy.{key}), which --backend "
                        f"{backend} runs; make it with: {command}")
    if not os.path.isfile(path):
        raise UserError(f"{deploy.path}: Deploy.{key} points to {path}, which does not exist; "
                        f"make it again with: {command}")
    return path
