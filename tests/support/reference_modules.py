"""The three reference modules of the module path (issue 9): a small CNN with pooling, an
MLP with BatchNorm and a residual MLP with dropout, shared by the equality tests and the
speed benchmarks (on ``sys.path`` through pytest's ``pythonpath``)."""

from __future__ import annotations

import functools

import torch
from torch import nn


def small_cnn(n_classes: int) -> nn.Module:
    """Two 3x3 convolutions with max and average pooling over 8x8 digits."""
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(24, n_classes))


def bn_mlp(n_features: int, n_classes: int, width: int = 16) -> nn.Module:
    """Two hidden layers, each followed by BatchNorm1d."""
    return nn.Sequential(nn.Linear(n_features, width), nn.BatchNorm1d(width), nn.ReLU(),
                         nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(),
                         nn.Linear(width, n_classes))


class ResidualDropoutMLP(nn.Module):
    """Two residual blocks of Linear, ReLU and Dropout."""

    def __init__(self, n_features: int, n_classes: int, width: int = 16, p: float = 0.3) -> None:
        super().__init__()
        self.inp = nn.Linear(n_features, width)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(width, width), nn.ReLU(),
                                                  nn.Dropout(p)) for _ in range(2))
        self.out = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(x))
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


def reference_models(width: int = 16, p: float = 0.3) -> dict[str, object]:
    """Name -> factory for the three reference modules at a hidden width."""
    return {"cnn": small_cnn, "bn_mlp": functools.partial(bn_mlp, width=width),
            "residual_dropout": functools.partial(ResidualDropoutMLP, width=width, p=p)}
