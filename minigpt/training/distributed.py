"""Several processes, one model: PyTorch's own engine, nothing of ours in between.

`torchrun --nproc_per_node=N -m minigpt.train ...` starts N copies of the same command and tells
each one its place through the environment (RANK, LOCAL_RANK, WORLD_SIZE and where to meet);
`init_distributed` reads it and joins the process group, and the Trainer wraps the model in
DistributedDataParallel, which averages the gradients during backward. Without torchrun's
environment there is one process and nothing here does anything.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

DEVICES = ("auto", "cpu", "cuda", "mps")
CPU = torch.device("cpu")


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank among world_size processes and the device it uses.

    Example: DistContext() is one process on the CPU; DistContext().is_main is True.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0  # rank on this machine: which GPU this process drives
    device: torch.device = CPU

    @property
    def is_main(self) -> bool:
        """Rank 0 logs and writes checkpoints; the others only train."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        """t summed over every process, in place (t untouched when there is only this one)."""
        if self.is_distributed:
            dist.all_reduce(t)
        return t


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """The device for --device: "auto" is this process's GPU when there is one, else the CPU.

    MPS is used only when asked for: on the lab's small models it is rarely faster than the CPU.
    Example: pick_device("cpu") == torch.device("cpu")
    """
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)} (got {name!r})")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: this PyTorch sees no CUDA GPU (try --device cpu)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps: this PyTorch sees no Apple GPU (try --device cpu)")
    return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)


def init_distributed(device: str = "auto") -> DistContext:
    """This process's DistContext; joins torchrun's process group when torchrun started it.

    gloo between CPU processes, NCCL between GPUs. Several machines need nothing more here:
    torchrun's rendezvous (--nnodes, --rdzv_endpoint) fills in the same variables.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return DistContext(device=pick_device(device))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    here = pick_device(device, local_rank)
    if here.type == "mps":
        raise ValueError("MPS cannot share training between processes: use --device cpu or cuda")
    if here.type == "cuda":
        torch.cuda.set_device(here)
        dist.init_process_group("nccl", device_id=here)
    else:
        dist.init_process_group("gloo")
    return DistContext(rank, world_size, local_rank, here)


WAIT_FOR_OTHERS = timedelta(seconds=60)  # how long a finished process waits for the rest


def cleanup(together: bool = False) -> None:
    """Leave the process group, if this process joined one.

    together=True (every process reached the same end): first wait until all of them are here,
    so none tears down its connections while another still uses them; gloo could then abort a
    process on its way out ("terminate called without an active exception"). After an error,
    the others may never come, so a process leaves at once; on gloo the wait is bounded anyway.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if together:
        try:
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=WAIT_FOR_OTHERS)
            else:
                dist.barrier()
        except RuntimeError:
            pass  # a process is missing: leave without it
    dist.destroy_process_group()


@contextlib.contextmanager
def leaving() -> Iterator[None]:
    """Run the block, then leave the process group: together when the block ends normally
    (every process reaches the same end of the same run), at once after an error.

    Example:
        with leaving():
            train()
    """
    try:
        yield
    except BaseException:
        cleanup()  # this process stops alone: it cannot wait for the others
        raise
    cleanup(together=True)


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on GPUs that have it, else nothing.

    Matmuls run in bfloat16 while the weights and the loss stay float32; bfloat16 keeps
    float32's exponent range, so unlike float16 it needs no loss scaling.
    """
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
