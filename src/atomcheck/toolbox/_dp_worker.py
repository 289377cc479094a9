"""One rank of :func:`atomcheck.toolbox.data_parallel.train_data_parallel`.

Run as a script (``python -I _dp_worker.py RANK WORLD PORT JOBS.npz OUT.npz``): it loads
only torch and numpy, so a rank does not pay for importing atomcheck (scipy, scikit-learn).
The optimisers are written out (:class:`Optimizer`) rather than taken from ``torch.optim``,
whose first use imports ``torch._dynamo`` (~2.5 s of CPU per rank here); the single-process
reference uses the same class, so the two runs differ only in the data parallelism.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch
import torch.distributed as dist


def _grad(p: torch.Tensor) -> torch.Tensor:
    if p.grad is None:
        raise RuntimeError("a parameter has no gradient: call backward() first.")
    return p.grad


class Optimizer:
    """Plain SGD or Adam (PyTorch's default betas and eps, bias-corrected), in place."""

    def __init__(self, name: str, params: list[torch.Tensor], lr: float) -> None:
        if name not in ("sgd", "adam"):
            raise ValueError(f"optimizer={name!r} must be 'sgd' or 'adam'.")
        self.name, self.params, self.lr, self.t = name, params, lr, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        for p, m, v in zip(self.params, self.m, self.v):
            g = _grad(p)
            if self.name == "sgd":
                p.add_(g, alpha=-self.lr)
                continue
            m.mul_(0.9).add_(g, alpha=0.1)
            v.mul_(0.999).addcmul_(g, g, value=0.001)
            denom = (v.sqrt() / (1 - 0.999 ** self.t) ** 0.5).add_(1e-8)
            p.addcdiv_(m, denom, value=-self.lr / (1 - 0.9 ** self.t))


def model_for(init_seed: int, dims: int, hidden: int) -> torch.nn.Module:
    """The MLP dims-hidden-2 (tanh, float64) drawn from ``init_seed``."""
    torch.manual_seed(init_seed)
    return torch.nn.Sequential(torch.nn.Linear(dims, hidden), torch.nn.Tanh(),
                               torch.nn.Linear(hidden, 2)).double()


def main(rank: int, world_size: int, port: int, jobs_path: str, out_path: str) -> None:
    torch.set_num_threads(1)
    jobs = np.load(jobs_path)
    meta = json.loads(str(jobs["meta"]))
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size)
    try:
        # Every job (seed, setting) trains in lockstep: one all-reduce per step carries the
        # gradients of all of them (one bucket, as DDP buckets parameters), so the ranks
        # meet len(steps) times, not once per job and step: far fewer waits on a busy machine.
        models, optimizers, data = [], [], []
        for i, job in enumerate(meta):
            data.append((torch.as_tensor(jobs[f"x{i}"]), torch.as_tensor(jobs[f"y{i}"])))
            models.append(model_for(job["init_seed"], job["dims"], job["hidden"]))
        params = [p for model in models for p in model.parameters()]
        start_weights = torch.nn.utils.parameters_to_vector(params)
        dist.broadcast(start_weights, src=0)  # replicas start from rank 0's weights
        torch.nn.utils.vector_to_parameters(start_weights, params)
        for job, model in zip(meta, models):
            optimizers.append(Optimizer(job["optimizer"], list(model.parameters()), job["lr"]))
        steps = {job["steps"] for job in meta}
        if len(steps) != 1:
            raise ValueError("every job must train the same number of steps.")
        for step in range(steps.pop()):
            for job, model, opt, (x, y) in zip(meta, models, optimizers, data):
                shard = job["batch"] // world_size
                start = step * job["batch"] + rank * shard
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x[start:start + shard]),
                                                  y[start:start + shard]).backward()
            # The gradient all-reduce: the sum over ranks, then the mean.
            flat = torch.cat([_grad(p).reshape(-1) for p in params])
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            flat /= world_size
            offset = 0
            for p in params:
                _grad(p).copy_(flat[offset:offset + p.numel()].view_as(p))
                offset += p.numel()
            for opt in optimizers:
                opt.step()
        out = {f"params{i}": np.concatenate([p.detach().numpy().ravel()
                                              for p in model.parameters()])
               for i, model in enumerate(models)}
        np.savez(out_path, **out)  # type: ignore[arg-type]
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
