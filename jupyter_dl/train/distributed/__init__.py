"""Training in several processes with torch.distributed: one job, many ranks, seen as one run.

- :mod:`.devices`: ``--devices N`` / ``cpu:N`` -> a checked plan (backend, device per rank);
- :mod:`.ranks`: one process's place in the job and the collectives the Trainer asks of it
  (DDP per fit, agreeing to stop at the same batch, exact validation over all ranks);
- :mod:`.launch`: starting spawned workers from a kernel, watching them, ending them all;
- :mod:`.relay`: rank 0's events carried to the kernel and replayed on its Trainer.

The feature side (what a worker builds and runs) is :mod:`jupyter_dl.finetuning.multi_device`.
"""
from ..._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "DevicePlan": "devices", "parse_devices": "devices", "RankGroup": "ranks", "WorkerGroup": "launch",
    "EventForwarder": "relay", "EventMirror": "relay",
})
