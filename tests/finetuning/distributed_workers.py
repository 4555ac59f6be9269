"""Worker entry points for tests of the process layer (spawned processes import them from here)."""
from jupyter_dl.train.distributed.launch import FAILED, describe_exception, guard_worker, send_last
from jupyter_dl.train.distributed.ranks import join, leave


def raise_on_rank_1(job, place, queue, stop_code):
    """Rank 1 raises at once; rank 0 waits for it in a collective (as a training step would)."""
    import torch

    guard_worker(place.parent_pid)
    try:
        group = join(backend="gloo", rank=place.rank, world=place.world, local_rank=place.local_rank,
                     device=torch.device("cpu"), store=place.store, timeout_s=120)
        if place.rank == 1:
            raise ValueError(job["message"])
        group.barrier()
    except BaseException as exc:
        queue.put((FAILED, place.rank, describe_exception(exc)))
        raise
    finally:
        leave()


def send_big_and_return(job, place, queue, stop_code):
    """Rank 0 sends a message much larger than a pipe holds (as a model's weights), then returns."""
    if place.rank == 0:
        send_last(queue, ("finished", "finished", b"w" * job["bytes"], []))
    return "done"
