"""Diagonal-Gaussian helpers for the VAE path (Kingma & Welling, "Auto-Encoding Variational Bayes", 2014)."""

from __future__ import annotations

import torch
from torch import Tensor


def reparameterize(mean: Tensor, log_var: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``z = mean + exp(0.5 * log_var) * eps`` with ``eps ~ N(0, I)``; differentiable in mean and log_var."""
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + torch.exp(0.5 * log_var) * eps


def kl_standard_normal(mean: Tensor, log_var: Tensor) -> Tensor:
    """Closed-form ``KL(N(mean, exp(log_var)) || N(0, I))`` per batch element.

    ``KL = -0.5 * sum(1 + log_var - mean^2 - exp(log_var))`` over all non-batch axes.

    Args:
        mean, log_var: ``(B, ...)``.

    Returns:
        ``(B,)`` in nats.
    """
    per_elem = 1.0 + log_var - mean.pow(2) - log_var.exp()
    return -0.5 * per_elem.flatten(1).sum(1)
