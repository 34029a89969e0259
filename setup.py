"""Install with ``pip install -e .`` (add ``[test,onnx,openvino]`` for the whole test suite)."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version() -> str:
    with open(os.path.join(HERE, "paddleseg", "__init__.py")) as f:
        return re.search(r'__version__ = "([^"]+)"', f.read()).group(1)


def _requirements() -> list:
    with open(os.path.join(HERE, "requirements.txt")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


setup(
    name="paddleseg-next",
    version=_version(),
    description="Config-driven semantic segmentation on PaddlePaddle (PaddleSeg-compatible configs and checkpoints)",
    long_description=open(os.path.join(HERE, "README.md")).read() if os.path.exists(os.path.join(HERE, "README.md")) else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["paddleseg", "paddleseg.*"]),
    python_requires=">=3.8",
    install_requires=_requirements(),
    # onnx: tools/export_onnx.py (paddle2onnx converts, onnxruntime checks the result)
    # pytest-timeout: tests that feed bad data must fail, not hang, if a fix regresses
    # openvino: tools/infer.py --backend openvino, val.py --engine openvino (ONNX conversion);
    # nncf: its int8 post-training quantization (tools/quantize.py, --precision int8)
    extras_require={"test": ["pytest>=7", "pytest-timeout>=2"],
                    "onnx": ["paddle2onnx>=2.1", "onnxruntime"],
                    "openvino": ["paddle2onnx>=2.1", "openvino", "nncf"]},
    license="Apache-2.0",
)
