"""Export a model to ONNX, to run it without PyTorch (onnxruntime, browsers, phones).

Needs the optional packages of ``pip install 'pixelab[export]'`` (onnx, onnxruntime).
The exported graph takes ``images`` float32 ``(batch, C, H, W)`` in [0, 1] (normalisation is
inside) and returns ``logits`` ``(batch, num_classes)``; the batch size is free.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from pixelab._core.checks import check_positive_int
from pixelab._core.errors import PixelabError
from pixelab._core.io import atomic_write
from pixelab._core.optional import require
from pixelab.models.base import PixelabModel

__all__ = ["export_onnx"]

#: ONNX opset written by export_onnx (17 is read by onnxruntime >= 1.14).
OPSET = 17


def export_onnx(
    model: PixelabModel,
    path: str | os.PathLike[str],
    *,
    image_size: int | None = None,
    in_channels: int | None = None,
    opset: int = OPSET,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write ``model`` as an ONNX file at ``path`` (atomically) and return the path.

    ``metadata`` (text keys and values, e.g. class names and preprocessing as JSON) is stored
    in the file's metadata_props, which ONNX Runtime reads as ``custom_metadata_map``.

    ``image_size`` and ``in_channels`` default to the model's own; the graph is traced at that
    size, with a dynamic batch axis. The model is traced in eval mode (BN statistics, no dropout)
    and its train/eval mode is restored afterwards.
    """
    onnx = require("onnx", extra="export")
    if not isinstance(model, PixelabModel):
        raise PixelabError(
            f"export_onnx needs a pixelab model, got {type(model).__name__}",
            hint="create it with pixelab.models.create_model(...) or load_model(...)",
        )
    size = check_positive_int(
        model.image_size if image_size is None else image_size, name="image_size"
    )
    channels = check_positive_int(
        model.in_channels if in_channels is None else in_channels, name="in_channels"
    )
    opset = check_positive_int(opset, name="opset", minimum=17)

    param = next(model.parameters())
    dummy = torch.rand(2, channels, size, size, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(dummy)  # the model's own input checks, with readable errors, before tracing

        def write(tmp: Path) -> None:
            with warnings.catch_warnings():
                # dynamo=False: the TorchScript exporter works with just torch installed (the
                # dynamo exporter needs onnxscript). Torch >= 2.9 flags it as deprecated; the
                # warnings are harmless for these plain feed-forward models.
                for message in (
                    "You are using the legacy TorchScript",
                    "The feature will be removed",
                ):
                    warnings.filterwarnings("ignore", message, DeprecationWarning)
                # TensorFlow-style "same" padding (EfficientNet) exports as a Pad whose pad
                # list the exporter reverses with a step -1 slice; it works, and says so.
                warnings.filterwarnings("ignore", "Constant folding - Only steps=1", UserWarning)
                torch.onnx.export(
                    model,
                    (dummy,),
                    str(tmp),
                    dynamo=False,
                    opset_version=opset,
                    input_names=["images"],
                    output_names=["logits"],
                    dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                )
            if metadata:
                proto = onnx.load(str(tmp))
                for key, value in metadata.items():
                    entry = proto.metadata_props.add()
                    entry.key, entry.value = str(key), str(value)
                onnx.save(proto, str(tmp))
            onnx.checker.check_model(str(tmp))

        return atomic_write(path, write)
    finally:
        model.train(was_training)
