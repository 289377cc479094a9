"""One batched training run: rows (config x seed) stacked on a leading axis.

The common path (any activation, init, loss, optimiser, L1/L2/weight decay, dropout,
clipping, residual blocks, shared hidden layers) uses a hand-written backward pass;
normalisation layers use autograd over the same batched forward. A row whose minibatch
loss turns non-finite is retired at that step (its weights frozen as they were) and
removed from the batch, so the remaining rows compute exactly what they would without it.

This module owns the loop (epochs, shuffles, dropout masks, divergence, evaluation and
records); one step is :func:`atomcheck.engine.layers.manual_step` (or autograd here), a
whole epoch may run in :mod:`atomcheck.engine.native`, and the updates are
:class:`atomcheck.engine.optimizers.Optimizer`'s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from atomcheck.engine.native import epoch_runner
from atomcheck.engine.layers import (Buffers, act_backward, activation, forward_activation,
                                     manual_step)
from atomcheck.engine.losses import check_limit, row_loss
from atomcheck.engine.optimizers import Optimizer
from atomcheck.engine.params import augmented_init, join_params, norm_params, split_params
from atomcheck.engine.rows import per_run, runs_of
from atomcheck.models import (TrainResult, classification_metrics, dropout_block,
                              dropout_generator, epoch_lr, history_names, layer_plan,
                              metric_names, norm_apply, output_size, residual_at,
                              tensor_to_numpy, torch_dtype)
from atomcheck.seeding import rng, stream_seed

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from atomcheck.data import Dataset
    from atomcheck.models import MLPSpec


class BatchedRun:
    """Train ``specs[r]`` on ``datasets[r]`` with ``seeds[r]`` for every row ``r`` at once.

    All rows must share the architecture, dtype, clipped batch size, epoch count and data
    shapes (the caller groups rows so).
    """

    def __init__(self, specs: Sequence[MLPSpec], datasets: Sequence[Dataset],
                 seeds: Sequence[int], device: str) -> None:
        import torch

        self.t0 = time.perf_counter()
        self.specs, self.seeds = list(specs), [int(s) for s in seeds]
        self.all_specs = list(specs)
        base, d0 = specs[0], datasets[0]
        self.base, self.n_rows = base, len(specs)
        self.dt, self.dev = torch_dtype(base.dtype), torch.device(device)
        self.n, self.n_classes, self.n_out = len(d0.x_train), d0.n_classes, output_size(d0)
        self.bs = min(base.batch_size, self.n)
        sizes, self.plan = layer_plan(base, d0.n_features, self.n_out)
        self.k = len(base.widths)
        self.residual = [residual_at(base, j) for j in range(self.k)]
        self.autograd = base.norm is not None
        self.data = self._data_tensors(datasets)
        self.WA = augmented_init(specs, self.seeds, sizes, self.dt, self.dev)
        self.gamma, self.beta, self.running = norm_params(self.n_rows, base, self.dt, self.dev)
        self._set_params()
        self.opt = Optimizer(self.params, self.W, self.specs)
        self.check_limit = min(check_limit(s.loss, self.dt) for s in self.specs)
        self.shuffles = [rng(stream_seed(s, "order", sp.hold), "shuffle")
                         for s, sp in zip(self.seeds, self.specs)]
        self.dgens = [dropout_generator(stream_seed(s, "dropout", sp.hold)) if sp.dropout
                      else None for s, sp in zip(self.seeds, self.specs)]
        self.dropout = any(sp.dropout for sp in self.specs)
        self.alive = list(range(self.n_rows))
        self._set_runs()
        self.want_history = any(s.history for s in specs)
        self.want_norms = any(s.grad_norms for s in specs)
        self.want_snaps = any(s.snapshots for s in specs)
        self.epoch = 0
        self._set_fused()
        keys = [*self._history_keys(), *(f"grad_norm_{u}" for u in range(len(self.W)))]
        self.history: list[dict[str, list[float]]] = [{k: [] for k in keys}
                                                      for _ in range(self.n_rows)]
        self.snaps: list[list[list[np.ndarray]]] = [[] for _ in range(self.n_rows)]
        self.final_w: list[list[np.ndarray] | None] = [None] * self.n_rows
        self.final_b: list[list[np.ndarray]] = [[] for _ in range(self.n_rows)]
        self.diverged = [False] * self.n_rows
        if self.want_snaps:
            self._snapshot()

    # -- setup ------------------------------------------------------------------------
    def _put(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(device=self.dev, dtype=self.dt).contiguous()

    def _data_tensors(self, datasets: Sequence[Dataset]) -> dict[str, torch.Tensor]:
        import torch

        def stack(name: str) -> np.ndarray:
            return np.stack([np.asarray(getattr(d, name)) for d in datasets])

        out = {"x": self._put(torch.as_tensor(stack("x_train"))),
               "xt": self._put(torch.as_tensor(stack("x_test")))}
        for key, name in (("y", "y_train"), ("yt", "y_test")):
            y = stack(name)
            if self.n_classes:
                out[key] = torch.as_tensor(y.astype(np.int64), device=self.dev)
            else:
                out[key] = self._put(torch.as_tensor(y.reshape(len(datasets), y.shape[1], -1)))
        return out

    def _set_params(self) -> None:
        self.W, self.B, self.params = split_params(self.WA, self.gamma, self.beta,
                                                   self.autograd)

    def _set_runs(self) -> None:
        self.act_runs = runs_of([s.activation for s in self.specs])
        self.loss_runs = runs_of([s.loss for s in self.specs])
        self.WT = [w.transpose(1, 2) for w in self.W]  # views: stay valid under updates
        if len(self.act_runs) == 1:
            name = self.act_name = self.act_runs[0][2]
            self.fwd_act = forward_activation(name)
            self.bwd_act = lambda da, z, a: act_backward(name, da, z, a)
        else:
            runs, self.act_name = self.act_runs, ""
            self.fwd_act = lambda z: per_run(runs, activation, z)
            self.bwd_act = lambda da, z, a: per_run(runs, act_backward, da, z, a)

    def _history_keys(self) -> tuple[str, ...]:
        return history_names(self.n_classes)

    def _targets(self, labels: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor:
        import torch

        if labels is None:
            return y
        return torch.nn.functional.one_hot(labels, self.n_out).to(self.dt)

    # -- per epoch --------------------------------------------------------------------
    def _prepare_epoch(self) -> None:
        import torch

        rows, n = len(self.alive), self.n
        perms = np.stack([g.permutation(n) for g in self.shuffles])
        flat = torch.as_tensor((perms + np.arange(rows)[:, None] * n).reshape(-1),
                               device=self.dev)
        d = self.data
        x = d["x"].reshape(rows * n, -1).index_select(0, flat).view(rows, n, -1)
        if not self.autograd:  # trailing ones column: the bias rides in the matmul
            x = torch.cat([x, torch.ones((rows, n, 1), dtype=self.dt, device=self.dev)], -1)
        self.ep: dict[str, Any] = {"x": x}
        if self.n_classes:
            lab = d["y"].reshape(-1).index_select(0, flat).view(rows, n)
            self.ep["lab"], self.ep["tgt"] = lab, self._targets(lab, d["y"])
        else:
            self.ep["lab"] = None
            self.ep["tgt"] = d["y"].reshape(rows * n, -1).index_select(0, flat).view(rows, n, -1)
        self.ep["masks"] = None
        if self.dropout:
            import torch

            self.ep["masks"] = [self._put(torch.stack([
                dropout_block(sp, g, n, w) if g is not None else
                torch.ones((n, w), dtype=torch.float64)
                for sp, g in zip(self.specs, self.dgens)])) for w in self.base.widths]
        self._split_epoch()

    def _split_epoch(self) -> None:
        """Per-step views of this epoch's tensors (one ``split`` call each)."""
        ep, bs = self.ep, self.bs
        self.sx = ep["x"].split(bs, 1)
        self.sxT = ep["x"].transpose(1, 2).split(bs, 2)
        self.stgt = ep["tgt"].split(bs, 1)
        self.slab = ep["lab"].split(bs, 1) if ep["lab"] is not None else None
        self.smasks = (list(zip(*[m.split(bs, 1) for m in ep["masks"]]))
                       if ep["masks"] is not None else None)

    # -- forward / steps --------------------------------------------------------------
    def _forward(self, x: torch.Tensor, training: bool,
                 masks: list[torch.Tensor] | None) -> torch.Tensor:
        import torch

        h = x
        for j in range(self.k):
            u = self.plan[j]
            z = torch.baddbmm(self.B[u], h, self.W[u])
            if self.base.norm:
                running = self.running[j] if self.running else None
                z = norm_apply(self.base.norm, z, self.gamma[j], self.beta[j], running,
                                  training)
            a = per_run(self.act_runs, activation, z)
            if masks is not None:
                a = a * masks[j]
            h = h + a if self.residual[j] else a
        u = self.plan[-1]
        return torch.baddbmm(self.B[u], h, self.W[u])

    def _row_losses(self, out: torch.Tensor, lab: torch.Tensor | None,
                    tgt: torch.Tensor) -> torch.Tensor:
        lab_ = lab if lab is not None else tgt  # unused for regression losses
        return per_run(self.loss_runs, lambda key, o, la, t: row_loss(
            key, o, la if lab is not None else None, t), out, lab_, tgt)

    def bad_rows(self, out: torch.Tensor, lab: torch.Tensor | None, tgt: torch.Tensor
                 ) -> list[int]:
        """Rows whose minibatch loss (exact per-seed semantics) is NaN/inf."""
        import torch

        with torch.no_grad():
            ok = torch.isfinite(self._row_losses(out, lab, tgt)).cpu().numpy()
        return [int(r) for r in np.flatnonzero(~ok)]

    def _set_fused(self) -> None:
        """The optimiser runs whose update is folded into the backward pass (never
        materialising their gradients): plain SGD without penalties, clipping or gradient
        records, in a run without shared layers or normalisation. Decided by each row's own
        spec, never by the rows batched with it, so a row's arithmetic is the same batched
        or alone; ``fused_runs`` holds ``(start, stop, lr)`` at this epoch's rate."""
        structural = not self.base.shared_hidden and not self.autograd
        ids = [r for r, s in enumerate(self.opt.run_specs) if structural and
               s.optimizer == "sgd" and not (s.l1 or s.l2 or s.weight_decay or s.grad_norms)
               and s.clip_norm is None]
        self.fused_ids = frozenset(ids)
        self.fused_runs = [(self.opt.runs[r][0], self.opt.runs[r][1],
                            epoch_lr(self.opt.run_specs[r], self.epoch)) for r in ids]

    def _step_autograd(self, i: int, epoch: int, gacc: torch.Tensor | None) -> list[int]:
        import torch

        masks = list(self.smasks[i]) if self.smasks is not None else None
        saved = [(m.clone(), v.clone()) for m, v in self.running]
        out = self._forward(self.sx[i], True, masks)
        lab = self.slab[i] if self.slab is not None else None
        losses = self._row_losses(out, lab, self.stgt[i])
        ok = torch.isfinite(losses.detach())
        if not bool(ok.all()):
            with torch.no_grad():
                for (m, v), (m0, v0) in zip(self.running, saved):
                    m.copy_(m0)
                    v.copy_(v0)
            return [int(r) for r in torch.nonzero(~ok).flatten().tolist()]
        grads = torch.autograd.grad(losses.sum(), self.params)
        with torch.no_grad():
            self.opt.step(list(grads), list(grads[:len(self.W)]), epoch, gacc)
        return []

    # -- divergence -------------------------------------------------------------------
    def _retire(self, bad: list[int]) -> None:
        import torch

        for r in bad:
            orig = self.alive[r]
            self.diverged[orig] = True
            self.final_w[orig] = [tensor_to_numpy(w[r]) for w in self.W]
            self.final_b[orig] = [tensor_to_numpy(b[r]).reshape(-1) for b in self.B]
        keep_rows = [r for r in range(len(self.alive)) if r not in set(bad)]
        keep = torch.as_tensor(keep_rows, dtype=torch.long, device=self.dev)

        def sel(t: torch.Tensor) -> torch.Tensor:
            return t.detach().index_select(0, keep)

        if self.autograd:
            self.WA = join_params(self.W, self.B)
        self.WA = [sel(wa) for wa in self.WA]
        self.gamma, self.beta = [sel(g) for g in self.gamma], [sel(b) for b in self.beta]
        self.running = [(sel(m), sel(v)) for m, v in self.running]
        self._set_params()
        self.data = {k: sel(v) for k, v in self.data.items()}
        self.ep = {k: (None if v is None else [sel(m) for m in v] if isinstance(v, list)
                       else sel(v)) for k, v in self.ep.items()}
        self.specs = [self.specs[r] for r in keep_rows]
        self.seeds = [self.seeds[r] for r in keep_rows]
        self.shuffles = [self.shuffles[r] for r in keep_rows]
        self.dgens = [self.dgens[r] for r in keep_rows]
        self.alive = [self.alive[r] for r in keep_rows]
        self.opt.params, self.opt.weights = self.params, self.W
        if self.alive:
            self.opt.select(keep, self.specs)
            self._set_runs()
            self._set_fused()
            self._split_epoch()

    # -- records ----------------------------------------------------------------------
    def evaluate(self) -> list[dict[str, float]]:
        """Train and test metrics of every alive row (evaluation mode)."""
        import torch

        d, rows = self.data, []
        with torch.no_grad():
            parts = {}
            for split, xk, yk in (("train", "x", "y"), ("test", "xt", "yt")):
                out = self._forward(d[xk], False, None)
                lab = d[yk] if self.n_classes else None
                loss = self._row_losses(out, lab, self._targets(lab, d[yk])).cpu().numpy()
                if self.n_classes:
                    extra = out.argmax(-1).cpu().numpy()
                else:
                    extra = ((out - d[yk]) ** 2).mean(dim=(1, 2)).cpu().numpy()
                parts[split] = (loss, extra, d[yk].cpu().numpy())
        for r in range(len(self.alive)):
            m: dict[str, float] = {}
            for split, (loss, extra, y) in parts.items():
                m[f"{split}_loss"] = float(loss[r])
                if self.n_classes:
                    acc, bal = classification_metrics(extra[r], y[r], self.n_classes)
                    m[f"{split}_accuracy"], m[f"{split}_balanced_accuracy"] = acc, bal
                else:
                    m[f"{split}_mse"] = float(extra[r])
            rows.append(m)
        return rows

    def _snapshot(self) -> None:
        ws = [tensor_to_numpy(w) for w in self.W]
        for r, orig in enumerate(self.alive):
            self.snaps[orig].append([w[r] for w in ws])

    # -- main loop --------------------------------------------------------------------
    def run(self) -> list[TrainResult]:
        """Train every row and return one :class:`TrainResult` per row, in row order."""
        import torch

        self.buffers = Buffers(self)
        step = self._step_autograd if self.autograd else (
            lambda i, epoch, gacc: manual_step(self, i, epoch, gacc))
        steps = math.ceil(self.n / self.bs)
        native = epoch_runner(self)  # None: keep the torch steps
        for epoch in range(self.base.epochs):
            if not self.alive:
                break
            self._prepare_epoch()
            if native is not None:  # the whole epoch in one C call
                bad = native(epoch)
                if bad:
                    self._retire(bad)
                if self.alive:
                    self._end_epoch(None, steps)
                continue
            self.epoch = epoch
            self._set_fused()  # this epoch's learning rates
            gacc = torch.zeros((len(self.alive), len(self.W)), dtype=self.dt, device=self.dev
                               ) if self.want_norms else None
            for i in range(steps):
                while self.alive:
                    bad = step(i, epoch, gacc)
                    if not bad:
                        break
                    if gacc is not None:
                        gacc = gacc[[r for r in range(len(gacc)) if r not in set(bad)]]
                    self._retire(bad)
            if not self.alive:
                break
            self._end_epoch(gacc, steps)
        return self._results()

    def _end_epoch(self, gacc: torch.Tensor | None, steps: int) -> None:
        if self.want_history:
            for orig, m in zip(self.alive, self.evaluate()):
                for k in self._history_keys():
                    self.history[orig][k].append(m[k])
        if gacc is not None:
            means = (gacc / steps).cpu().numpy()
            for r, orig in enumerate(self.alive):
                for u in range(len(self.W)):
                    self.history[orig][f"grad_norm_{u}"].append(float(means[r, u]))
        if self.want_snaps:
            self._snapshot()

    def _results(self) -> list[TrainResult]:
        names = metric_names(self.n_classes)
        metrics: list[dict[str, float]] = [{k: math.nan for k in names}
                                           for _ in range(self.n_rows)]
        if self.alive:
            ws = [tensor_to_numpy(w) for w in self.W]
            bs = [tensor_to_numpy(b) for b in self.B]
            for r, (orig, m) in enumerate(zip(self.alive, self.evaluate())):
                self.final_w[orig] = [w[r] for w in ws]
                self.final_b[orig] = [b[r].reshape(-1) for b in bs]
                m = {k: m[k] for k in names}
                if all(math.isfinite(v) for v in m.values()):
                    metrics[orig] = m
                else:
                    self.diverged[orig] = True
        wall = (time.perf_counter() - self.t0) / self.n_rows
        out = []
        for orig, spec in enumerate(self.all_specs):
            hist: dict[str, list[float]] = {}
            for key, values in self.history[orig].items():
                wanted = spec.grad_norms if key.startswith("grad_norm_") else spec.history
                if wanted:
                    hist[key] = values + [math.nan] * (spec.epochs - len(values))
            out.append(TrainResult(metrics[orig], hist, self.final_w[orig] or [],
                                   self.snaps[orig] if spec.snapshots else [],
                                   self.diverged[orig], wall, self.final_b[orig]))
        return out
