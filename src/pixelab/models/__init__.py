"""Models: a registry of small networks that share one contract, plus save/load and ONNX export.

>>> import torch
>>> from pixelab.models import create_model
>>> model = create_model("small_cnn", num_classes=10, in_channels=1, image_size=28)
>>> model(torch.rand(4, 1, 28, 28)).shape  # float images in [0, 1], normalised inside
torch.Size([4, 10])
>>> list(model.feature_layers())
['block1', 'block2', 'block3']

Every model is ``forward(x) = forward_head(forward_features(x))``, has ``reset_classifier``
and ``feature_layers`` (see ``PixelabModel``), and is rebuilt from ``model.config``.
This package imports torch; ``import pixelab`` alone does not.
"""

from pixelab.models.base import PixelabModel
from pixelab.models.registry import create_model, list_models, register_model

# The architectures register themselves on import, in teaching order.
from pixelab.models.mlp import MLP  # isort: skip
from pixelab.models.lenet import LeNet  # isort: skip
from pixelab.models.small_cnn import SmallCNN  # isort: skip
from pixelab.models.resnet import ResNet  # isort: skip
from pixelab.models.efficientnet_lite import EfficientNetLite0  # isort: skip

from pixelab.models.export import export_onnx
from pixelab.models.io import load_model, save_model

__all__ = [
    "MLP",
    "EfficientNetLite0",
    "LeNet",
    "PixelabModel",
    "ResNet",
    "SmallCNN",
    "create_model",
    "export_onnx",
    "list_models",
    "load_model",
    "register_model",
    "save_model",
]
