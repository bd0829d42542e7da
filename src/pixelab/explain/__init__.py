"""Explain: what a trained CNN has learned, as arrays and numbers (no drawing here).

One file per idea, each working on any registered model through its ``feature_layers()``:
``conv`` (a hand-set kernel and its feature map), ``filters`` (first-layer kernels and how many
are oriented edge detectors), ``maps`` (feature maps layer by layer), ``units`` (favourite
images and receptive fields), ``dream`` (activation maximisation), ``saliency`` (four methods
and their faithfulness), ``dissect`` (network dissection) and ``embed`` (the manifold
hypothesis, measured).

>>> import numpy as np
>>> from pixelab.explain import convolve
>>> convolve(np.zeros((8, 8), np.float32), "sobel-x")["feature_map"].shape
(8, 8)
"""

from pixelab.explain.conv import KERNELS, convolve, output_size, parse_kernel
from pixelab.explain.filters import first_layer_kernels, gabor_bank, orientedness
from pixelab.explain.hooks import capture, check_layers
from pixelab.explain.maps import feature_maps

__all__ = [
    "KERNELS",
    "capture",
    "check_layers",
    "convolve",
    "feature_maps",
    "first_layer_kernels",
    "gabor_bank",
    "orientedness",
    "output_size",
    "parse_kernel",
]
