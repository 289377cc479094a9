"""The packed forms of the module path (engine.packed) against torch's own layers."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from atomcheck.engine.modules import _is_seed_dropout  # noqa: E402
from atomcheck.engine.packed import packed_plan  # noqa: E402

torch.set_num_threads(1)


def stacked(modules: list) -> tuple[dict, dict]:
    from torch.func import stack_module_state

    params, buffers = stack_module_state(modules)
    return ({f"m.{k}": v for k, v in params.items()}, {f"m.{k}": v for k, v in buffers.items()})


def per_seed_and_packed(factory, in_shape, S=3, B=6):
    torch.manual_seed(0)
    modules = [factory().double().train() for _ in range(S)]
    x = torch.randn(S, B, *in_shape, dtype=torch.float64)
    plan = packed_plan(modules[0], in_shape, "mse", 0, _is_seed_dropout)
    assert plan is not None
    params, buffers = stacked(modules)
    new_buffers = dict(buffers)
    out = plan.forward(params, x, [], new_buffers)  # (S, O, B)
    g = torch.randn_like(out)
    grads = torch.autograd.grad((out * g).sum(), list(params.values()))
    ref_out, ref_grads = [], []
    for k, m in enumerate(modules):
        o = m(x[k])
        ref_out.append(o.T)
        ref_grads.append(torch.autograd.grad((o.T * g[k]).sum(), list(m.parameters())))
    return (out, grads, new_buffers), (torch.stack(ref_out), ref_grads, modules), params


CASES = {
    "conv3-pad1-maxpool": (lambda: nn.Sequential(
        nn.Unflatten(1, (2, 6, 6)), nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(27, 4)), (72,)),
    "conv2-nopad-avgpool-odd": (lambda: nn.Sequential(
        nn.Unflatten(1, (1, 7, 7)), nn.Conv2d(1, 2, 2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(18, 3, bias=False)), (49,)),
    "conv5-pad2-nobias-maxpool3": (lambda: nn.Sequential(
        nn.Unflatten(1, (1, 6, 6)), nn.Conv2d(1, 2, 5, padding=2, bias=False), nn.ReLU(),
        nn.MaxPool2d(3), nn.Flatten(), nn.Linear(8, 2)), (36,)),
    "image-input": (lambda: nn.Sequential(
        nn.Conv2d(3, 2, 3, padding=(1, 0)), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 2, 2)),
        (3, 4, 4)),
    "batchnorm-mlp": (lambda: nn.Sequential(
        nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 4),
        nn.BatchNorm1d(4, momentum=None, affine=False), nn.Linear(4, 2)), (5,)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_packed_forward_and_gradients_equal_each_seeds_module(case) -> None:
    factory, in_shape = CASES[case]
    (out, grads, new_buffers), (ref, ref_grads, modules), params = per_seed_and_packed(
        factory, in_shape)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    for k in range(len(modules)):
        for g, r in zip(grads, ref_grads[k]):
            torch.testing.assert_close(g[k], r, rtol=1e-12, atol=1e-12)
        # BatchNorm running statistics: each seed's own update (the modules ran once).
        for name, buf in modules[k].named_buffers():
            torch.testing.assert_close(new_buffers[f"m.{name}"][k], buf, rtol=1e-12, atol=0)


def test_max_pooling_sends_the_gradient_to_the_first_maximum_of_a_tied_window() -> None:
    def factory() -> nn.Module:
        return nn.Sequential(nn.Unflatten(1, (1, 4, 4)), nn.Conv2d(1, 1, 1, bias=False),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 1))

    module = factory().double()
    with torch.no_grad():
        module[1].weight.fill_(1.0)
    x = torch.tensor([[1.0, 1.0, 0.0, 2.0, 1.0, 1.0, 2.0, 2.0,
                       3.0, 3.0, 3.0, 3.0, 0.0, 3.0, 3.0, 0.0]], dtype=torch.float64)
    plan = packed_plan(module, (16,), "mse", 0, _is_seed_dropout)
    params, _ = stacked([module])
    xs = x[None].clone().requires_grad_()
    plan.forward(params, xs, []).sum().backward()
    xr = x.clone().requires_grad_()
    module(xr).sum().backward()
    assert torch.equal(xs.grad[0], xr.grad)


def test_a_seeds_slice_does_not_depend_on_the_number_of_seeds() -> None:
    factory, in_shape = CASES["conv3-pad1-maxpool"]
    torch.manual_seed(1)
    modules = [factory().double() for _ in range(5)]
    x = torch.randn(5, 8, *in_shape, dtype=torch.float64)
    plan = packed_plan(modules[0], in_shape, "cross_entropy", 4, _is_seed_dropout)
    y = torch.randint(0, 4, (5, 8))
    p5, _ = stacked(modules)
    p1, _ = stacked(modules[3:4])
    l5 = plan.losses(p5, x, y, [], "cross_entropy", 4)
    l1 = plan.losses(p1, x[3:4], y[3:4], [], "cross_entropy", 4)
    assert torch.equal(l5[3:4], l1)
    g5 = torch.autograd.grad(l5.sum(), list(p5.values()))
    g1 = torch.autograd.grad(l1.sum(), list(p1.values()))
    assert all(torch.equal(a[3:4], b) for a, b in zip(g5, g1))


class MySequential(nn.Sequential):
    def forward(self, x):  # not what nn.Sequential does
        return super().forward(x) * 2


@pytest.mark.parametrize("why, factory, loss, n_classes", [
    ("a Sequential subclass may change forward",
     lambda: MySequential(nn.Linear(4, 2)), "mse", 0),
    ("a strided convolution", lambda: nn.Sequential(
        nn.Unflatten(1, (1, 2, 2)), nn.Conv2d(1, 1, 1, stride=2), nn.Flatten()), "mse", 0),
    ("an unsupported layer", lambda: nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)), "mse", 0),
    ("a plain nn.Dropout (the module path swaps it first)",
     lambda: nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1)), "mse", 0),
    ("a loss it does not pack", lambda: nn.Sequential(nn.Linear(4, 3)), "hinge", 3),
    ("no Linear or Conv2d", lambda: nn.Sequential(nn.ReLU()), "mse", 0),
    ("an image output", lambda: nn.Sequential(nn.Unflatten(1, (1, 2, 2))), "mse", 0),
])
def test_what_is_not_packed_keeps_the_vmap_path(why, factory, loss, n_classes) -> None:
    assert packed_plan(factory(), (4,), loss, n_classes, _is_seed_dropout) is None, why


def test_hooks_and_the_switch_keep_the_vmap_path(monkeypatch) -> None:
    m = nn.Sequential(nn.Linear(4, 2))
    assert packed_plan(m, (4,), "mse", 0, _is_seed_dropout) is not None
    monkeypatch.setenv("ATOMCHECK_PACKED", "0")
    assert packed_plan(m, (4,), "mse", 0, _is_seed_dropout) is None
    monkeypatch.delenv("ATOMCHECK_PACKED")
    m[0].register_forward_hook(lambda mod, inp, out: out * 0)
    assert packed_plan(m, (4,), "mse", 0, _is_seed_dropout) is None
