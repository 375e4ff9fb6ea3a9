"""VMamba SS2D cross-scan and cross-merge: four 1-D scan orders over a 2-D map.

SS2D (VMamba, VM-UNet) flattens a (H, W) feature map into four sequences of length
``L = H * W`` and runs one selective scan per direction:

0. row-major (along W within each row, rows top to bottom),
1. column-major (along H within each column, columns left to right),
2. direction 0 reversed,
3. direction 1 reversed.

:func:`cross_merge` maps the four scanned sequences back to row-major order and sums
them. It is the adjoint (transpose) of :func:`cross_scan`, so
``cross_merge(cross_scan(x), H, W) == 4 * x.flatten(2)``. Both are plain PyTorch
views, flips and additions; autograd differentiates them.
"""

import torch

__all__ = ["cross_merge", "cross_scan"]


def cross_scan(x):
    """Flatten a feature map in VMamba's four scan orders.

    Parameters
    ----------
    x : Tensor of shape (batch, channels, H, W)
        Feature map.

    Returns
    -------
    xs : Tensor of shape (batch, 4, channels, H * W)
        ``xs[:, 0]`` row-major, ``xs[:, 1]`` column-major (``x`` transposed, then
        flattened), ``xs[:, 2]`` and ``xs[:, 3]`` the same two reversed. Contiguous.
    """
    if x.dim() != 4:
        raise ValueError(
            f"x must be (batch, channels, H, W); got shape {tuple(x.shape)}."
        )
    row = x.flatten(2)  # (b, c, H*W), position h*W + w
    col = x.transpose(2, 3).flatten(2)  # (b, c, W*H), position w*H + h
    xs = torch.stack((row, col), dim=1)
    return torch.cat((xs, xs.flip(-1)), dim=1)


def cross_merge(ys, H, W):
    """Undo the four scan orders and sum them (the adjoint of :func:`cross_scan`).

    Parameters
    ----------
    ys : Tensor of shape (batch, 4, channels, H * W)
        One sequence per direction, in the order of :func:`cross_scan`.
    H, W : int
        Height and width of the feature map that was scanned.

    Returns
    -------
    y : Tensor of shape (batch, channels, H * W)
        Sum of the four directions, in row-major order (reshape to
        (batch, channels, H, W) to get the map back).
    """
    if ys.dim() != 4 or ys.shape[1] != 4 or ys.shape[3] != H * W:
        raise ValueError(
            f"ys must be (batch, 4, channels, H*W={H * W}); "
            f"got shape {tuple(ys.shape)}."
        )
    batch, _, channels, _ = ys.shape
    y = ys[:, 0:2] + ys[:, 2:4].flip(-1)  # (b, 2, c, L): undo the reversal
    col = y[:, 1].reshape(batch, channels, W, H).transpose(2, 3)  # back to (h, w)
    return y[:, 0] + col.reshape(batch, channels, H * W)
