"""Embeddings of a frozen backbone, computed once and kept on disk (the linear-probe half of
transfer learning).

A pretrained network's features (``forward_head(forward_features(x), pre_logits=True)``) do not
change while only a new head is trained, so each image is embedded once. The cache is keyed by
the image's *content* (a SHA-256 of the file's bytes, or of the array), inside a folder named by
a fingerprint of the backbone's weights, the preprocessing and the numeric precision: another
backbone or preprocessing never reads these vectors, and a second run on a folder with one new
image embeds only that image. Images are decoded batch by batch, so memory stays flat however
many there are.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.io import atomic_write, atomic_write_text
from pixelab._core.progress import ProgressFn, report

#: Bumped when the cache's layout or the embedding recipe changes: old caches are then ignored.
CACHE_VERSION = 1
#: Numeric precisions of the embedding pass; "auto" picks bf16 where the CPU computes it natively.
PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX). Elsewhere bf16 is
    emulated and measured 7-10x *slower* than fp32, so "auto" keeps fp32 there."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: Any = "cpu") -> str:
    """ "fp32" or "bf16" for ``precision`` on ``device`` ("auto": bf16 only on a CPU with native
    bf16; fp32 on GPUs, where the backbone is fast enough already)."""
    from pixelab._core.checks import check_choice
    from pixelab.train.loop import resolve_device

    check_choice(precision, PRECISIONS, name="--precision")
    if precision != "auto":
        return precision
    return "bf16" if resolve_device(device).type == "cpu" and native_bf16() else "fp32"


def model_fingerprint(model: Any) -> str:
    """A SHA-256 over the model's name and every weight but the classifier's: which backbone
    this is (a new head on the same body gives the same embeddings, so the same fingerprint)."""
    import torch

    head = {id(t) for t in model.get_classifier().state_dict(keep_vars=True).values()}
    h = hashlib.sha256(model.model_name.encode())
    with torch.no_grad():
        for name, tensor in model.state_dict(keep_vars=True).items():
            if id(tensor) in head:
                continue
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def content_key(data: bytes | np.ndarray) -> str:
    """The cache key of one image: a SHA-256 of its file's bytes (or of a uint8 array)."""
    if isinstance(data, np.ndarray):
        a = np.ascontiguousarray(data)
        return hashlib.sha256(str(a.shape).encode() + a.tobytes()).hexdigest()
    return hashlib.sha256(data).hexdigest()


class EmbeddingCache:
    """Vectors by content key, for one backbone + preprocessing + precision (``namespace``).

    Each :meth:`add` writes one shard file atomically (keys and vectors, no pickle); a damaged
    shard or a folder whose ``namespace.json`` does not match is ignored and rebuilt.
    """

    def __init__(self, root: str | os.PathLike[str], namespace: dict[str, Any]) -> None:
        self.namespace = {"cache_version": CACHE_VERSION, **namespace}
        text = json.dumps(self.namespace, sort_keys=True)
        self.path = Path(root) / hashlib.sha256(text.encode()).hexdigest()[:20]
        self._text = text

    def load(self) -> dict[str, np.ndarray]:
        """Every vector stored so far (an empty dict for a new, stale or damaged cache)."""
        record = self.path / "namespace.json"
        try:
            if json.dumps(json.loads(record.read_text()), sort_keys=True) != self._text:
                return {}
        except (OSError, ValueError):
            return {}
        out: dict[str, np.ndarray] = {}
        for shard in sorted(self.path.glob("shard-*.npz")):
            try:
                with np.load(shard, allow_pickle=False) as z:
                    keys, vectors = z["keys"], z["vectors"]
                if len(keys) != len(vectors) or vectors.ndim != 2:
                    raise ValueError("shape mismatch")
            except (OSError, ValueError, KeyError):
                shard.unlink(missing_ok=True)  # damaged: its images are embedded again
                continue
            out.update(zip(keys.tolist(), vectors, strict=True))
        return out

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store new vectors (one shard per call)."""
        if not len(keys):
            return
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / "namespace.json", self._text)
        name = f"shard-{time.time_ns()}-{os.getpid()}.npz"

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, keys=np.asarray(keys, dtype="U64"), vectors=vectors.astype(np.float32))

        atomic_write(self.path / name, write)


def embed(
    model: Any,
    keys: Sequence[str],
    load: Callable[[int], np.ndarray],
    *,
    cache: EmbeddingCache | None = None,
    batch_size: int = 32,
    device: str = "cpu",
    precision: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Embed the images ``load(i)`` (uint8 (H, W, C), already preprocessed) whose content keys
    are ``keys``, reading cached vectors first.

    Returns "vectors" (N, D) float32 (NaN rows for images that failed to load), "failed" (index
    -> reason), the counts "cached" and "computed", and the "precision" used. Images that
    ``load`` cannot read (a :class:`PixelabError`) are skipped, not fatal. The pass runs in
    inference mode on channels-last batches, in bfloat16 where the CPU has it (``precision``).
    """
    import torch

    from pixelab.train.loop import bf16_autocast, resolve_device

    dev = resolve_device(device)
    bf16 = resolve_precision(precision, dev) == "bf16"
    known = cache.load() if cache is not None else {}
    todo = [i for i, k in enumerate(keys) if k not in known]
    failed: dict[int, str] = {}
    new_keys: list[str] = []
    new_vectors: list[np.ndarray] = []
    model.eval().to(dev)
    total = len(todo)
    report(progress, "embedding", 0, total)
    try:
        for start in range(0, total, batch_size):
            batch, index = [], []
            for i in todo[start : start + batch_size]:
                try:
                    batch.append(load(i))
                    index.append(i)
                except PixelabError as err:
                    failed[i] = err.message
            if batch:
                x = torch.from_numpy(np.stack(batch).transpose(0, 3, 1, 2).copy()).float() / 255
                x = x.to(dev).contiguous(memory_format=torch.channels_last)
                with torch.inference_mode(), bf16_autocast(dev, bf16):
                    v = model.forward_head(model.forward_features(x), pre_logits=True)
                vectors = v.float().cpu().numpy()
                for i, vec in zip(index, vectors, strict=True):
                    known[keys[i]] = vec
                    new_keys.append(keys[i])
                new_vectors.append(vectors)
            report(progress, "embedding", min(start + batch_size, total), total)
    finally:  # an interrupted run keeps what it finished
        if cache is not None and new_keys:
            cache.add(new_keys, np.concatenate(new_vectors))
    dim = next(iter(known.values())).shape[0] if known else 0
    out = np.full((len(keys), dim), np.nan, np.float32)
    for i, k in enumerate(keys):
        if i not in failed and k in known:
            out[i] = known[k]
    return {
        "vectors": out,
        "failed": failed,
        "cached": len(keys) - total,
        "computed": total - len(failed),
        "precision": "bf16" if bf16 else "fp32",
    }
