"""Spec2VolCAMU-Net's spectrogram encoder: projection + MD-TF-CAE blocks.

Follows the official code (hdy6438/Spec2VolCAMU-Net ``Spectrogram2fMRI.py``), which
differs from the paper's text:

- The input is ``(batch, n_context, n_channels, n_freqs)``: the 20 past TR windows
  are the *convolution channels* and the 2D plane is electrodes x frequency bins
  (the paper's ``C x T x F`` reads as if electrodes were the channels).
- The "3x1" kernel spans 3 adjacent *electrode rows* (the paper: "temporal"), the
  "1x3" kernel 3 adjacent frequency bins. No kernel slides along time; time is mixed
  only by the projection conv.
- The self-attention runs over the *frequency axis*, one electrode row at a time
  (sequence = frequency bins, batch = batch x electrodes), without positional
  encoding; the paper says "across electrodes" / "across time and frequency".
- The down-sampling conv halves the frequency axis only (249 -> 125 -> 63).
"""

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .blocks import LayerNorm2d

__all__ = [
    "CONV_PATHS",
    "MultiScaleConv",
    "FrequencyAttention",
    "MDTFCAEBlock",
    "SpectrogramEncoder",
]

#: conv path name -> (kernel, padding) over (electrodes, frequency bins)
CONV_PATHS = {
    "electrode": ((3, 1), (1, 0)),
    "frequency": ((1, 3), (0, 1)),
    "square": ((3, 3), (1, 1)),
}


class MultiScaleConv(nn.Module):
    """Parallel directional convolutions fused by a 1x1 conv (first half of MD-TF-CAE).

    Each path is ``Conv2d(dim -> path_dim) + act``; the concatenated paths go through
    ``Conv2d 1x1 (n_paths * path_dim -> dim) + act``.

    Parameters
    ----------
    dim : int
        Input and output channels.
    paths : sequence of {"electrode", "frequency", "square"}
        ``"electrode"``: kernel (3, 1) across electrode rows; ``"frequency"``: kernel
        (1, 3) across frequency bins; ``"square"``: 3x3.
    path_dim : int, optional
        Channels of each path; default ``max(1, dim // 8)`` (32 for dim 256, official).
    act_layer : type, default=nn.SiLU
    """

    def __init__(
        self,
        dim,
        paths=("electrode", "frequency", "square"),
        path_dim=None,
        act_layer=nn.SiLU,
    ):
        super().__init__()
        path_dim = path_dim or max(1, dim // 8)
        self.paths = nn.ModuleDict()
        for name in paths:
            kernel, padding = CONV_PATHS[name]
            self.paths[name] = nn.Sequential(
                nn.Conv2d(dim, path_dim, kernel, padding=padding), act_layer()
            )
        self.fuse = nn.Sequential(nn.Conv2d(len(paths) * path_dim, dim, 1), act_layer())

    def forward(self, x):
        """x : (batch, dim, n_electrodes, n_freqs) -> same shape."""
        return self.fuse(torch.cat([path(x) for path in self.paths.values()], dim=1))


class FrequencyAttention(nn.Module):
    """Multi-head self-attention over frequency bins, separately per electrode row.

    The parameters are those of ``nn.MultiheadAttention(dim, n_heads)`` (as in the
    official code: packed q/k/v in-projection with bias, out-projection with bias, no
    dropout) and so is the result; the forward pass calls
    ``F.scaled_dot_product_attention`` directly on the (batch x electrodes, bins,
    dim) layout, which avoids the sequence-first transposes and copies of
    ``nn.MultiheadAttention`` (a large share of the encoder's time on CPU).

    Parameters
    ----------
    dim : int
        Embedding size (the channels).
    n_heads : int
        Attention heads; must divide ``dim``.
    """

    def __init__(self, dim, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.attn = nn.MultiheadAttention(dim, n_heads, batch_first=True)

    def forward(self, x):
        """x : (batch, dim, n_electrodes, n_freqs) -> same shape.

        A view, no copy, when ``x`` is in ``torch.channels_last`` memory format.
        """
        b, _, h, _ = x.shape
        seq = rearrange(x, "b c h w -> (b h) w c")  # one sequence of bins per row
        qkv = F.linear(seq, self.attn.in_proj_weight, self.attn.in_proj_bias)
        q, k, v = rearrange(
            qkv, "n l (three k d) -> three n k l d", three=3, k=self.n_heads
        )
        out = F.scaled_dot_product_attention(q, k, v)  # (b h, heads, w, head_dim)
        out = self.attn.out_proj(rearrange(out, "n k l d -> n l (k d)"))
        return rearrange(out, "(b h) w c -> b c h w", b=b, h=h)


class MDTFCAEBlock(nn.Module):
    """Multi-directional time-frequency convolutional attention encoder block.

    ``x = LN(x + MultiScaleConv(x))``; ``x = LN(x + FrequencyAttention(x))``;
    ``x = Conv2d(kernel (1, 3), stride (1, 2), padding (0, 1))(x)`` (post-norm,
    LayerNorm over channels, as in the official code).

    Parameters
    ----------
    dim : int
        Channels (constant through the block).
    n_heads : int, default=8
    conv_paths : sequence of str, default=("electrode", "frequency", "square")
        Subset of :data:`CONV_PATHS`; empty skips the multi-scale part (and its norm).
    attention : bool, default=True
        False skips the attention part (and its norm).
    act_layer : type, default=nn.SiLU
    """

    def __init__(
        self,
        dim,
        n_heads=8,
        conv_paths=("electrode", "frequency", "square"),
        attention=True,
        act_layer=nn.SiLU,
    ):
        super().__init__()
        self.conv = (
            MultiScaleConv(dim, conv_paths, act_layer=act_layer) if conv_paths else None
        )
        self.norm1 = LayerNorm2d(dim) if conv_paths else None
        self.attn = FrequencyAttention(dim, n_heads) if attention else None
        self.norm2 = LayerNorm2d(dim) if attention else None
        self.downsample = nn.Conv2d(dim, dim, (1, 3), stride=(1, 2), padding=(0, 1))

    def forward(self, x):
        """x : (batch, dim, n_electrodes, n_freqs) -> (..., ceil(n_freqs / 2))."""
        if self.conv is not None:
            x = self.norm1(x + self.conv(x))
        if self.attn is not None:
            x = self.norm2(x + self.attn(x))
        return self.downsample(x)


class SpectrogramEncoder(nn.Module):
    """Projection conv 3x3+act to ``dim`` channels, then ``n_blocks`` MD-TF-CAE blocks.

    Parameters
    ----------
    in_chans : int
        Input channels (``n_context``, the past TR windows).
    dim : int, default=256
    n_blocks : int, default=2
        0 builds the projection alone.
    n_heads : int, default=8
    conv_paths : sequence of str, default=("electrode", "frequency", "square")
    attention : bool, default=True
    act_layer : type, default=nn.SiLU
    """

    def __init__(
        self,
        in_chans,
        dim=256,
        n_blocks=2,
        n_heads=8,
        conv_paths=("electrode", "frequency", "square"),
        attention=True,
        act_layer=nn.SiLU,
    ):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(in_chans, dim, 3, padding=1), act_layer())
        self.blocks = nn.Sequential(
            *[
                MDTFCAEBlock(dim, n_heads, conv_paths, attention, act_layer)
                for _ in range(n_blocks)
            ]
        )
        self.n_blocks = n_blocks

    def output_size(self, n_channels, n_freqs):
        """(n_electrodes, n_freqs) of the encoder output for an input plane size."""
        for _ in range(self.n_blocks):
            n_freqs = (n_freqs - 1) // 2 + 1
        return n_channels, n_freqs

    def project(self, x):
        """The projection alone: conv 3x3 + act, mixing the context windows.

        Parameters
        ----------
        x : Tensor of shape (batch, n_context, n_electrodes, n_freqs)

        Returns
        -------
        Tensor of shape (batch, dim, n_electrodes, n_freqs)
            In ``torch.channels_last`` memory format.
        """
        # channels-last keeps the channel LayerNorms and the per-row attention free
        # of transposing copies; the convolutions run natively in this format
        return self.proj(x.contiguous(memory_format=torch.channels_last))

    def forward(self, x):
        """Encode spectra.

        Parameters
        ----------
        x : Tensor of shape (batch, n_context, n_electrodes, n_freqs)

        Returns
        -------
        Tensor of shape (batch, dim, n_electrodes, n_freqs_out)
            ``n_freqs_out`` from :meth:`output_size` (the bins halved per block);
            in ``torch.channels_last`` memory format.
        """
        return self.blocks(self.project(x))
