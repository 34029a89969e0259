"""Segmentation datasets (PaddleSeg 2.8 names and arguments)."""
from paddleseg.datasets import cityscapes_labels  # noqa: F401
from paddleseg.datasets.dataset import Dataset  # noqa: F401
from paddleseg.datasets.facts import DatasetFacts, dataset_facts  # noqa: F401
from paddleseg.datasets.cityscapes import Cityscapes  # noqa: F401
from paddleseg.datasets.ade import ADE20K  # noqa: F401
