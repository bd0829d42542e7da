"""Data-parallel training on PyTorch's own engine (DistributedDataParallel, started by
``torchrun``): one process per device, each with the whole model and a slice of every batch;
their gradients are averaged, so N processes take the same steps as one process on the whole
batch. gloo on CPUs, NCCL on GPUs. Only rank 0 writes files.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` for each process; a process
started without them is simply alone (:func:`from_env` returns None).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from pixelab._core.errors import PixelabError


@dataclasses.dataclass(frozen=True)
class Group:
    """This process's place among the processes of one training: ``rank`` of ``world``
    (``local_rank`` on its machine, which picks its GPU)."""

    rank: int
    world: int
    local_rank: int

    @property
    def main(self) -> bool:
        """Whether this process is rank 0: the one that writes."""
        return self.rank == 0

    def shard(self, index: Any) -> Any:
        """This process's share of a batch's ``index``: every ``world``-th item from ``rank``
        (equal shares when the batch divides by ``world``)."""
        return index[self.rank :: self.world]

    def sum(self, values: list[float]) -> list[float]:
        """``values`` summed over every process (each gets the sums)."""
        import torch
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64)
        if dist.get_backend() == "nccl":
            t = t.cuda()
        dist.all_reduce(t)
        return t.cpu().tolist()

    def barrier(self) -> None:
        """Wait until every process gets here."""
        import torch.distributed as dist

        dist.barrier()

    def close(self, *, wait: bool = True) -> None:
        """Leave the group: with ``wait``, once every process is done (a process that left
        while another still used the group would take it down)."""
        import torch.distributed as dist

        if dist.is_initialized():
            if wait:
                dist.barrier()
            dist.destroy_process_group()


def from_env(device: str = "auto") -> Group | None:
    """The process group ``torchrun`` describes in the environment, joined (NCCL when the
    processes use GPUs, else gloo); None for a process started alone. Idempotent."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return None
    import torch
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    gpu = device != "cpu" and torch.cuda.is_available()
    if not dist.is_initialized():
        if gpu:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if gpu else "gloo")
    return Group(rank=rank, world=world, local_rank=local)


def check_batch(batch_size: int, group: Group | None) -> None:
    """One clear error when the global batch does not split evenly over the processes."""
    if group is not None and batch_size % group.world:
        raise PixelabError(f"--batch-size {batch_size} does not split over {group.world} "
                           "processes", hint=f"use a multiple of {group.world}")  # fmt: skip


def torchrun_command(nproc: int, args: list[str]) -> list[str]:
    """The command that runs ``pixelab`` ``args`` as ``nproc`` processes on this machine."""
    import sys

    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc-per-node={nproc}", "-m", "pixelab", *args]  # fmt: skip
