"""Data augmentation: replayable image operations on batches, and policies that chain them.

Pure image code (no model inside): geometric ops (flip, translate, rotate, scale, crop, affine,
perspective, elastic), noise and blur, colour (brightness, contrast, gamma, saturation, hue,
grayscale), random erasing, mixing (mixup, cutmix, with soft labels) and a hook for images
made by a generative model. See :mod:`pixelab.augment.ops` for the sample/apply contract.
"""

from pixelab.augment import geometric, mixing, photometric  # noqa: F401  (registers the ops)
from pixelab.augment.mixing import GeneratedSamples
from pixelab.augment.ops import OPS, MixOp, Op, get_op, register_op, to_float, to_uint8
from pixelab.augment.policy import POLICIES, Policy, augment_images, describe, parse_policy

__all__ = [
    "OPS",
    "POLICIES",
    "GeneratedSamples",
    "MixOp",
    "Op",
    "Policy",
    "augment_images",
    "describe",
    "get_op",
    "parse_policy",
    "register_op",
    "to_float",
    "to_uint8",
]
