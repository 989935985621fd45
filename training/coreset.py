"""Greedy k-centre coreset selection (PatchCore's memory-bank subsampling)."""

from __future__ import annotations

import torch


def greedy_coreset(x: torch.Tensor, size: int, seed: int = 0) -> torch.Tensor:
    """Indices (on ``x``'s device) of ``size`` rows of ``x`` (N, D) chosen farthest-first;
    all rows if N <= size.

    Each step is one matrix-vector product over the remaining distances (no (N, D) copies).
    """
    n = x.shape[0]
    if n <= size:
        return torch.arange(n, device=x.device)
    x = x.float().contiguous()
    sq = (x * x).sum(1)
    start = int(torch.randint(n, (1,), generator=torch.Generator().manual_seed(seed)))
    chosen = torch.empty(size, dtype=torch.long, device=x.device)
    chosen[0] = start
    dist = torch.clamp(sq - 2.0 * (x @ x[start]) + sq[start], min=0.0)
    for i in range(1, size):
        nxt = torch.argmax(dist)      # stays on x's device: no host sync per step
        chosen[i] = nxt
        torch.minimum(dist, sq - 2.0 * (x @ x[nxt]) + sq[nxt], out=dist)
    return chosen
