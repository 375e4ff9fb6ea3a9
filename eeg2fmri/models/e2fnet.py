"""E2fNet (kgr20/E2fNet ``models.py``), the main baseline, written with torch only.

EEG encoder (two (1, 5) stride-(1, 2) convs over frequency, two 3x3 convs) -> bicubic
resize to the decoder grid -> a two-level U-Net with ResNet blocks (GroupNorm 32,
SiLU), self-attention in the bottleneck (mid block) -> conv decoder -> sigmoid.

The official U-Net is ``diffusers.UNet2DModel(in=256, out=256, layers_per_block=1,
block_out_channels=(256, 256), DownBlock2D x2, UpBlock2D x2)`` called with the
timestep fixed at 0. We rebuild the same layers without diffusers; the time
embedding MLP (sinusoid of t=0 -> Linear -> SiLU -> Linear) is kept, fed with the
constant sinusoid of t=0, so that it is exactly the learned constant per-channel
bias it is in the official model and the parameter count matches: 19,152,030 for
D=30 (19,152,608 for D=32). As in the official code the input is
``(batch, n_context, n_channels, n_freqs)`` (past windows as channels) and the D
slices are the output channels of a 2D network. The official code resizes to a
fixed 64x64; we resize to the target ``(H, W)`` (rounded up to a multiple of
``2 ** (levels - 1)``, output cropped back).
"""

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ._registry import register_model
from .blocks import Eeg2fmriModel, check_choice, fit_to_grid, round_up_grid, to_tuple

__all__ = [
    "E2fNet",
    "ResnetBlock",
    "AttentionBlock",
    "TimeFreeUNet",
    "e2fnet",
    "e2fnet_small",
    "e2fnet_tiny",
]


def _conv_bn_relu(in_chans, out_chans, kernel, stride=1, padding=0):
    return nn.Sequential(
        nn.Conv2d(in_chans, out_chans, kernel, stride=stride, padding=padding),
        nn.BatchNorm2d(out_chans),
        nn.ReLU(inplace=True),
    )


class ResnetBlock(nn.Module):
    """diffusers ``ResnetBlock2D``: GN-SiLU-conv, + time bias, GN-SiLU-conv, shortcut.

    Parameters
    ----------
    in_chans, out_chans : int
    temb_dim : int
        Size of the (constant) time embedding; projected to a per-channel bias.
    groups : int, default=32
    eps : float, default=1e-5
    """

    def __init__(self, in_chans, out_chans, temb_dim, groups=32, eps=1e-5):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_chans, eps=eps)
        self.conv1 = nn.Conv2d(in_chans, out_chans, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_dim, out_chans)
        self.norm2 = nn.GroupNorm(groups, out_chans, eps=eps)
        self.conv2 = nn.Conv2d(out_chans, out_chans, 3, padding=1)
        self.shortcut = (
            nn.Conv2d(in_chans, out_chans, 1) if in_chans != out_chans else None
        )

    def forward(self, x, temb):
        """x : (batch, in_chans, H, W), temb : (temb_dim,) -> (b, out_chans, H, W)."""
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[None, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.shortcut is None else self.shortcut(x)) + h


class AttentionBlock(nn.Module):
    """diffusers mid-block ``Attention``: GroupNorm, multi-head attention, residual.

    Parameters
    ----------
    dim : int
    head_dim : int, default=8
        ``dim // head_dim`` heads (32 for dim 256, official).
    groups : int, default=32
    eps : float, default=1e-5
    """

    def __init__(self, dim, head_dim=8, groups=32, eps=1e-5):
        super().__init__()
        self.n_heads = dim // head_dim
        self.group_norm = nn.GroupNorm(groups, dim, eps=eps)
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(dim, dim)
        self.to_v = nn.Linear(dim, dim)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x):
        """x : (batch, dim, H, W) -> same shape; attention over the H*W positions."""
        _, _, h, w = x.shape
        seq = rearrange(self.group_norm(x), "b c h w -> b (h w) c")
        q, k, v = (
            rearrange(proj(seq), "b l (n d) -> b n l d", n=self.n_heads)
            for proj in (self.to_q, self.to_k, self.to_v)
        )
        out = F.scaled_dot_product_attention(q, k, v)  # (b, heads, l, head_dim)
        out = self.to_out(rearrange(out, "b n l d -> b l (n d)"))
        return x + rearrange(out, "b (h w) c -> b c h w", h=h, w=w)


class TimeFreeUNet(nn.Module):
    """diffusers ``UNet2DModel`` (DownBlock2D/UpBlock2D, attention mid block) at t = 0.

    Parameters
    ----------
    in_chans, out_chans : int
    block_out_channels : sequence of int, default=(256, 256)
        Width per level; one stride-2 conv between levels.
    layers_per_block : int, default=1
        ResNet blocks per down level (up levels have one more).
    head_dim : int, default=8
        Mid-block attention head size.
    groups : int, default=32
        GroupNorm groups.
    """

    def __init__(
        self,
        in_chans,
        out_chans,
        block_out_channels=(256, 256),
        layers_per_block=1,
        head_dim=8,
        groups=32,
    ):
        super().__init__()
        ch = tuple(block_out_channels)
        temb_dim = 4 * ch[0]
        self.grid_multiple = 2 ** (len(ch) - 1)
        # sinusoidal embedding of timestep 0 (flip_sin_to_cos): cos(0) = 1, sin(0) = 0
        half = ch[0] // 2
        t0 = torch.cat([torch.ones(half), torch.zeros(ch[0] - half)])
        self.register_buffer("t0_embedding", t0, persistent=False)
        self.time_embedding = nn.Sequential(
            nn.Linear(ch[0], temb_dim), nn.SiLU(), nn.Linear(temb_dim, temb_dim)
        )
        self.conv_in = nn.Conv2d(in_chans, ch[0], 3, padding=1)

        self.down_resnets = nn.ModuleList()
        self.downsamplers = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            self.down_resnets.append(
                nn.ModuleList(
                    ResnetBlock(prev if j == 0 else c, c, temb_dim, groups)
                    for j in range(layers_per_block)
                )
            )
            last = i == len(ch) - 1
            self.downsamplers.append(
                nn.Identity() if last else nn.Conv2d(c, c, 3, stride=2, padding=1)
            )
            prev = c
        self.mid_resnet1 = ResnetBlock(ch[-1], ch[-1], temb_dim, groups)
        self.mid_attn = AttentionBlock(ch[-1], head_dim, groups)
        self.mid_resnet2 = ResnetBlock(ch[-1], ch[-1], temb_dim, groups)

        # skip channels in the order they are produced
        skip_chs = [ch[0]]
        for i, c in enumerate(ch):
            skip_chs += [c] * layers_per_block
            if i < len(ch) - 1:
                skip_chs.append(c)
        self.up_resnets = nn.ModuleList()
        self.upsamplers = nn.ModuleList()
        rev = ch[::-1]
        out_c = rev[0]
        for i in range(len(ch)):
            prev_out, out_c = out_c, rev[i]
            blocks = nn.ModuleList()
            for j in range(layers_per_block + 1):
                in_c = prev_out if j == 0 else out_c
                blocks.append(
                    ResnetBlock(in_c + skip_chs.pop(), out_c, temb_dim, groups)
                )
            self.up_resnets.append(blocks)
            last = i == len(ch) - 1
            self.upsamplers.append(
                nn.Identity() if last else nn.Conv2d(out_c, out_c, 3, padding=1)
            )
        self.conv_norm_out = nn.GroupNorm(groups, ch[0])
        self.conv_out = nn.Conv2d(ch[0], out_chans, 3, padding=1)

    def forward(self, x):
        """x : (batch, in_chans, H, W) -> (batch, out_chans, H, W)."""
        temb = self.time_embedding(self.t0_embedding)
        x = self.conv_in(x)
        skips = [x]
        for resnets, down in zip(self.down_resnets, self.downsamplers, strict=True):
            for block in resnets:
                x = block(x, temb)
                skips.append(x)
            if not isinstance(down, nn.Identity):
                x = down(x)
                skips.append(x)
        x = self.mid_resnet2(self.mid_attn(self.mid_resnet1(x, temb)), temb)
        for resnets, up in zip(self.up_resnets, self.upsamplers, strict=True):
            for block in resnets:
                x = block(torch.cat([x, skips.pop()], dim=1), temb)
            if not isinstance(up, nn.Identity):
                x = up(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class E2fNet(Eeg2fmriModel):
    """E2fNet: conv encoder -> U-Net with mid-block attention -> conv decoder + sigmoid.

    Parameters
    ----------
    n_context : int, default=20
    n_channels : int, default=64
    n_freqs : int, default=249
    out_shape : tuple of int (D, H, W), default=(30, 64, 64)
    enc_channels : sequence of 4 int, default=(32, 64, 128, 256)
        Encoder conv widths (the last one is the U-Net width's input).
    block_out_channels : sequence of int, default=(256, 256)
        U-Net level widths.
    layers_per_block : int, default=1
    head_dim : int, default=8
    norm_groups : int, default=32
    dec_channels : sequence of int, default=(128, 64, 32)
        Decoder conv widths before the last conv to D.
    output_activation : {"sigmoid", None}, default="sigmoid"
        The official E2fNet ends with a sigmoid.
    """

    name = "e2fnet"

    def __init__(
        self,
        n_context=20,
        n_channels=64,
        n_freqs=249,
        out_shape=(30, 64, 64),
        *,
        enc_channels=(32, 64, 128, 256),
        block_out_channels=(256, 256),
        layers_per_block=1,
        head_dim=8,
        norm_groups=32,
        dec_channels=(128, 64, 32),
        output_activation="sigmoid",
    ):
        super().__init__()
        enc_channels = to_tuple(enc_channels, "enc_channels", length=4)
        block_out_channels = to_tuple(block_out_channels, "block_out_channels")
        dec_channels = to_tuple(dec_channels, "dec_channels", allow_empty=True)
        self._init_common(locals(), n_context, n_channels, n_freqs, out_shape)
        check_choice(output_activation, "output_activation", (None, "sigmoid"))
        for c in (enc_channels[-1], *block_out_channels):
            if c % norm_groups:
                raise ValueError(
                    f"U-Net widths {list(block_out_channels)} and enc_channels[-1]="
                    f"{enc_channels[-1]} must be divisible by "
                    f"norm_groups={norm_groups}."
                )
        if block_out_channels[-1] % head_dim:
            raise ValueError(
                f"block_out_channels[-1]={block_out_channels[-1]} must be divisible by "
                f"head_dim={head_dim}."
            )
        self.output_activation = output_activation
        c1, c2, c3, c4 = enc_channels
        self.encoder = nn.Sequential(
            _conv_bn_relu(n_context, c1, (1, 5), stride=(1, 2), padding=(0, 3)),
            _conv_bn_relu(c1, c2, (1, 5), stride=(1, 2), padding=(0, 3)),
            _conv_bn_relu(c2, c3, 3, padding=1),
            nn.Conv2d(c3, c4, 3, padding=1),
        )
        self.unet = TimeFreeUNet(
            c4, c4, block_out_channels, layers_per_block, head_dim, norm_groups
        )
        layers, prev = [], c4
        for c in dec_channels:
            layers.append(_conv_bn_relu(prev, c, 3, padding=1))
            prev = c
        layers.append(nn.Conv2d(prev, self.out_shape[0], 3, padding=1))
        self.decoder = nn.Sequential(*layers)
        self.grid = round_up_grid(self.out_shape[1:], self.unet.grid_multiple)

    def forward_features(self, x):
        """x : (batch, n_context, n_channels, n_freqs) -> (batch, C, grid_h, grid_w).

        The encoder output is resized bicubically to the grid (official: to 64x64).
        """
        return fit_to_grid(self.encoder(x), self.grid, "bicubic")

    def forward_head(self, feats):
        """feats : (batch, C, grid_h, grid_w) -> (batch, D, H, W)."""
        _, h, w = self.out_shape
        y = self.decoder(self.unet(feats))[:, :, :h, :w]
        return y.sigmoid() if self.output_activation == "sigmoid" else y


_E2FNET_NOTE = (
    "baseline kept as published: its sigmoid bounds the output to [0, 1], so it "
    "needs target_scaling='volume' (or output_activation=None); it does not learn the "
    "EEG-driven fluctuations of held-out participants (docs/study.rst)"
)


@register_model("e2fnet", note=_E2FNET_NOTE)
def e2fnet(**kwargs):
    """Official E2fNet sizes: 19,152,030 parameters for D=30."""
    return E2fNet._preset("e2fnet", {}, kwargs)


@register_model("e2fnet-small", note=_E2FNET_NOTE)
def e2fnet_small(**kwargs):
    """Narrow E2fNet with about as many parameters as ``spec2vol-small`` (0.73 M).

    Widths 48 (U-Net), 16/32/48/48 (encoder), 32/32/32 (decoder); 8 GroupNorm groups;
    attention heads of size 16 (faster than 8 on CPU). Being convolutional at the
    full 64x64 grid, it costs about twice ``spec2vol-small`` per batch.
    """
    defaults = dict(
        enc_channels=(16, 32, 48, 48),
        block_out_channels=(48, 48),
        dec_channels=(32, 32, 32),
        head_dim=16,
        norm_groups=8,
    )
    return E2fNet._preset("e2fnet-small", defaults, kwargs)


@register_model(
    "e2fnet-tiny",
    passes_overfit_check=False,
    note="too small for the overfitting check: 21 k parameters leave a relative "
    "training loss of about 0.1 after 300 steps on 32 pairs (the threshold)",
)
def e2fnet_tiny(**kwargs):
    """A few thousand parameters, for tests."""
    defaults = dict(
        enc_channels=(4, 8, 8, 8),
        block_out_channels=(8, 8),
        dec_channels=(8,),
        head_dim=4,
        norm_groups=4,
    )
    return E2fNet._preset("e2fnet-tiny", defaults, kwargs)
