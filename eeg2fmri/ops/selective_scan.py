"""Selective scan (Mamba S6 recurrence) with VMamba's grouped B/C layout.

This module holds the readable reference. Fast backends are dispatched by
:func:`selective_scan`.
"""

import torch
import torch.nn.functional as F

__all__ = ["selective_scan", "selective_scan_ref"]


def _expand_groups(M, n_channels):
    """Return B or C as (batch, n_channels, d_state, L), repeating groups if grouped."""
    if M.dim() == 3:  # (b, n, l): one B/C shared by all channels
        return M.unsqueeze(1).expand(-1, n_channels, -1, -1)
    batch, groups, d_state, length = M.shape
    if n_channels % groups:
        raise ValueError(
            f"B/C have {groups} groups, which does not divide the {n_channels} channels of u."
        )
    per_group = n_channels // groups
    # (b, g, n, l) -> (b, g*per_group, n, l); channel c uses group c // per_group
    return M.repeat_interleave(per_group, dim=1)


def selective_scan_ref(u, delta, A, B, C, D=None, delta_bias=None, delta_softplus=False):
    """Sequential reference of the selective scan, following the Mamba equations.

    ``h_t = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t`` and
    ``y_t = <C_t, h_t> + D * u_t``, with ``dt = softplus(delta + delta_bias)`` when
    ``delta_softplus``. Written to be read, not to be fast; every other backend is
    tested against it.

    Parameters
    ----------
    u : Tensor of shape (batch, n_channels, L)
        Input sequence.
    delta : Tensor of shape (batch, n_channels, L)
        Step sizes before bias and softplus.
    A : Tensor of shape (n_channels, d_state)
        State matrix (diagonal per channel), usually negative.
    B, C : Tensor of shape (batch, n_groups, d_state, L) or (batch, d_state, L)
        Input and output projections; with groups, channel ``c`` uses group
        ``c // (n_channels // n_groups)`` (VMamba: one group per scan direction).
    D : Tensor of shape (n_channels,), optional
        Skip connection.
    delta_bias : Tensor of shape (n_channels,), optional
        Added to ``delta`` before the softplus.
    delta_softplus : bool, default=False
        Apply softplus to ``delta + delta_bias``.

    Returns
    -------
    y : Tensor of shape (batch, n_channels, L)
    """
    batch, n_channels, length = u.shape
    dt = delta if delta_bias is None else delta + delta_bias[None, :, None]
    if delta_softplus:
        dt = F.softplus(dt)
    Bx = _expand_groups(B, n_channels)
    Cx = _expand_groups(C, n_channels)
    h = u.new_zeros(batch, n_channels, A.shape[1])
    ys = []
    for t in range(length):
        dt_t = dt[:, :, t, None]  # (b, d, 1)
        h = torch.exp(dt_t * A) * h + dt_t * Bx[:, :, :, t] * u[:, :, t, None]
        ys.append((h * Cx[:, :, :, t]).sum(-1))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + D[None, :, None] * u
    return y


def selective_scan(u, delta, A, B, C, D=None, delta_bias=None, delta_softplus=False,
                   backend="auto"):
    """Selective scan with a choice of backend (see :func:`selective_scan_ref`).

    Parameters
    ----------
    backend : {"auto", "reference", "cpu", "cuda"}, default="auto"
        ``"auto"`` picks the fastest backend available for the tensors' device.
    """
    if backend in ("auto", "reference", "cpu"):
        return selective_scan_ref(u, delta, A, B, C, D, delta_bias, delta_softplus)
    raise ValueError(f"backend must be one of 'auto', 'reference', 'cpu', 'cuda'; got {backend!r}.")
