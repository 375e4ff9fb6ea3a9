"""A standard convolutional U-Net, the decoder of the ``decoder="unet"`` ablation.

Same interface as :class:`~eeg2fmri.models.vmunet.VMUNet` (``(batch, in_chans, H, W)``
-> ``(batch, num_classes, H, W)``, raw outputs): Ronneberger-style levels of two
3x3 conv + GroupNorm + SiLU, 2x2 max-pooling down, 2x2 transposed conv up,
concatenated skips, 1x1 conv head. The paper's ablation replaces the VM-UNet by "a
U-Net" without further detail; this is our choice.
"""

import math

import torch
from torch import nn

from .blocks import check_grid_divisible

__all__ = ["ConvBlock", "ConvUNet"]


def _group_norm(channels, max_groups=8):
    return nn.GroupNorm(math.gcd(channels, max_groups), channels)


class ConvBlock(nn.Module):
    """Two (3x3 conv -> GroupNorm -> act) layers."""

    def __init__(self, in_chans, out_chans, act_layer=nn.SiLU):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_chans, out_chans, 3, padding=1, bias=False),
            _group_norm(out_chans),
            act_layer(),
            nn.Conv2d(out_chans, out_chans, 3, padding=1, bias=False),
            _group_norm(out_chans),
            act_layer(),
        )

    def forward(self, x):
        """x : (batch, in_chans, H, W) -> (batch, out_chans, H, W)."""
        return self.block(x)


class ConvUNet(nn.Module):
    """Convolutional U-Net (channels in -> channels out, same in-plane size).

    Parameters
    ----------
    in_chans : int
    num_classes : int
    dims : sequence of int, default=(96, 192, 384, 768)
        Width of each level, full resolution first.
    act_layer : type, default=nn.SiLU

    Notes
    -----
    Input height and width must be divisible by ``2 ** (len(dims) - 1)``
    (:attr:`grid_multiple`).
    """

    def __init__(
        self, in_chans, num_classes, dims=(96, 192, 384, 768), act_layer=nn.SiLU
    ):
        super().__init__()
        dims = tuple(dims)
        self.grid_multiple = 2 ** (len(dims) - 1)
        self.stem = ConvBlock(in_chans, dims[0], act_layer)
        self.downs = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), ConvBlock(a, b, act_layer))
            for a, b in zip(dims[:-1], dims[1:], strict=True)
        )
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(b, a, 2, stride=2)
            for a, b in zip(dims[:-1], dims[1:], strict=True)
        )
        self.up_blocks = nn.ModuleList(
            ConvBlock(2 * a, a, act_layer) for a in dims[:-1]
        )
        self.head = nn.Conv2d(dims[0], num_classes, 1)

    def forward(self, x):
        """x : (batch, in_chans, H, W) -> (batch, num_classes, H, W), raw outputs."""
        check_grid_divisible(x, self.grid_multiple, "ConvUNet")
        x = self.stem(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(x)
        for up, block in zip(reversed(self.ups), reversed(self.up_blocks), strict=True):
            x = block(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)
