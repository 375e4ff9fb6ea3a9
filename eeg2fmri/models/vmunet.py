"""VM-UNet (Ruan & Xiang 2024) with VMamba's SS2D, as Spec2VolCAMU-Net uses it.

Layer for layer the ``VSSM``/``VMUNet`` classes of JCruan519/VM-UNet
``models/vmunet/vmamba.py`` (byte-identical in the official Spec2VolCAMU-Net repo):
patch embedding (conv k=s=patch + LayerNorm), encoder stages of VSS blocks
``x + DropPath(SS2D(LN(x)))`` followed by patch merging, decoder stages of patch
expanding followed by VSS blocks, *additive* skips, a final x``patch`` expand and a
1x1 conv to the output channels. There is no final activation (the official
``VMUNet`` applies a sigmoid only when it has a single output channel).

Differences from the official code, none of which changes the parameter count:

- The selective scan is :func:`eeg2fmri.ops.selective_scan` (pure PyTorch on CPU,
  ``mamba_ssm``'s CUDA kernel on GPU when installed) instead of ``mamba_ssm`` only.
- The scan runs in the input dtype (float32 or float64); the official code casts to
  float32.
- Any grid whose sides are divisible by ``patch_size * 2 ** (n_stages - 1)`` works,
  square or not (checked with a clear error).
"""

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..ops import cross_merge, cross_scan, selective_scan
from .blocks import DropPath, check_grid_divisible

__all__ = [
    "SS2D",
    "VSSBlock",
    "PatchEmbed2D",
    "PatchMerging2D",
    "PatchExpand2D",
    "FinalPatchExpand2D",
    "VMUNet",
]


def _linspace(stop, n):
    """``torch.linspace(0, stop, n).tolist()`` in plain Python (works on any device)."""
    return [stop * i / (n - 1) for i in range(n)] if n > 1 else [0.0] * n


class SS2D(nn.Module):
    """2D selective scan block (VMamba "v0", as in VM-UNet).

    ``in_proj`` (d -> 2 d_inner, no bias) splits into x and a gate z; x goes through a
    depthwise 3x3 conv + SiLU, is scanned in 4 directions with per-direction
    ``x_proj``/``dt_proj``/``A``/``D``, the outputs are summed, layer-normalised,
    gated by ``SiLU(z)`` and projected back by ``out_proj`` (no bias).

    Parameters
    ----------
    d_model : int
    d_state : int, default=16
    d_conv : int, default=3
        Depthwise conv kernel.
    expand : int, default=2
        ``d_inner = expand * d_model``.
    dt_rank : int or "auto", default="auto"
        ``ceil(d_model / 16)`` when "auto".
    dt_min, dt_max, dt_init_floor : float
        Initial step sizes are log-uniform in ``[dt_min, dt_max]``, floored.
    scan_backend : str, default="auto"
        Passed to :func:`eeg2fmri.ops.selective_scan`.
    """

    n_directions = 4

    def __init__(
        self,
        d_model,
        d_state=16,
        d_conv=3,
        expand=2,
        dt_rank="auto",
        dt_min=1e-3,
        dt_max=0.1,
        dt_init_floor=1e-4,
        scan_backend="auto",
    ):
        super().__init__()
        self.d_model = d_model
        self.d_state = d_state
        self.d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.dt_min, self.dt_max, self.dt_init_floor = dt_min, dt_max, dt_init_floor
        self.scan_backend = scan_backend
        k, d_inner = self.n_directions, self.d_inner

        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv2d = nn.Conv2d(
            d_inner,
            d_inner,
            d_conv,
            padding=(d_conv - 1) // 2,
            groups=d_inner,
            bias=True,
        )
        self.act = nn.SiLU()
        self.x_proj_weight = nn.Parameter(
            torch.empty(k, self.dt_rank + 2 * d_state, d_inner)
        )
        self.dt_projs_weight = nn.Parameter(torch.empty(k, d_inner, self.dt_rank))
        self.dt_projs_bias = nn.Parameter(torch.empty(k, d_inner))
        self.A_logs = nn.Parameter(torch.empty(k * d_inner, d_state))
        self.Ds = nn.Parameter(torch.empty(k * d_inner))
        self.out_norm = nn.LayerNorm(d_inner)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        self.reset_ssm_parameters()

    @torch.no_grad()
    def reset_ssm_parameters(self):
        """Mamba's initialisation of the per-direction SSM parameters.

        x_proj: nn.Linear default (uniform +-1/sqrt(d_inner)); dt_proj weight uniform
        +-dt_rank**-0.5; dt bias = inverse softplus of log-uniform dt in
        [dt_min, dt_max] floored at dt_init_floor; A_log = log(1..d_state) (S4D-real);
        D = 1.
        """
        bound = self.d_inner**-0.5
        self.x_proj_weight.uniform_(-bound, bound)
        std = self.dt_rank**-0.5
        self.dt_projs_weight.uniform_(-std, std)
        lo, hi = math.log(self.dt_min), math.log(self.dt_max)
        dt = torch.exp(torch.rand_like(self.dt_projs_bias) * (hi - lo) + lo)
        dt = dt.clamp(min=self.dt_init_floor)
        self.dt_projs_bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        a = torch.arange(1, self.d_state + 1, dtype=self.A_logs.dtype)
        self.A_logs.copy_(torch.log(a).expand_as(self.A_logs))
        self.Ds.fill_(1.0)

    def forward_core(self, x):
        """x : (batch, d_inner, height, width) -> (batch, d_inner, height * width)."""
        b, d, h, w = x.shape
        k, length = self.n_directions, h * w
        xs = cross_scan(x)  # (b, k, d, l)
        x_dbl = torch.einsum("bkdl,kcd->bkcl", xs, self.x_proj_weight)
        dts, Bs, Cs = torch.split(
            x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=2
        )
        dts = torch.einsum("bkrl,kdr->bkdl", dts, self.dt_projs_weight)
        As = -torch.exp(self.A_logs)  # (k * d, n)
        y = selective_scan(
            xs.reshape(b, k * d, length),
            dts.reshape(b, k * d, length),
            As,
            Bs.contiguous(),  # (b, k, n, l): one group per direction
            Cs.contiguous(),
            self.Ds,
            delta_bias=self.dt_projs_bias.reshape(-1),
            delta_softplus=True,
            backend=self.scan_backend,
        )
        return cross_merge(y.reshape(b, k, d, length), h, w)

    def forward(self, x):
        """x : (batch, height, width, d_model) -> same shape."""
        _, h, w, _ = x.shape
        x, z = self.in_proj(x).chunk(2, dim=-1)  # (b, h, w, d_inner) each
        x = self.act(self.conv2d(x.permute(0, 3, 1, 2)))  # (b, d_inner, h, w)
        y = self.forward_core(x)  # (b, d_inner, l)
        y = rearrange(y, "b d (h w) -> b h w d", h=h, w=w)
        y = self.out_norm(y) * F.silu(z)
        return self.out_proj(y)


class VSSBlock(nn.Module):
    """``x + DropPath(SS2D(LayerNorm(x)))`` on (batch, height, width, dim) tensors."""

    def __init__(self, dim, drop_path=0.0, d_state=16, scan_backend="auto"):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.self_attention = SS2D(dim, d_state=d_state, scan_backend=scan_backend)
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        """x : (batch, height, width, dim) -> same shape."""
        return x + self.drop_path(self.self_attention(self.ln_1(x)))


class PatchEmbed2D(nn.Module):
    """Conv2d (kernel = stride = patch) + LayerNorm; returns channels-last."""

    def __init__(self, in_chans, embed_dim, patch_size=4):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x):
        """x : (batch, in_chans, H, W) -> (batch, H / patch, W / patch, embed_dim)."""
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class PatchMerging2D(nn.Module):
    """2x2 neighbourhood concat -> LayerNorm(4 dim) -> Linear(4 dim, 2 dim, no bias)."""

    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        """x : (batch, height, width, dim) -> (batch, height / 2, width / 2, 2 dim)."""
        x = torch.cat(
            [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]],
            dim=-1,
        )
        return self.reduction(self.norm(x))


class PatchExpand2D(nn.Module):
    """Linear(in_dim, 2 in_dim, no bias), pixel shuffle x2, LayerNorm(in_dim / 2)."""

    def __init__(self, in_dim, scale=2):
        super().__init__()
        self.scale = scale
        self.expand = nn.Linear(in_dim, scale * in_dim, bias=False)
        self.norm = nn.LayerNorm(in_dim // scale)

    def forward(self, x):
        """x : (batch, height, width, in_dim) -> (batch, 2 height, 2 width, in_dim/2)"""
        x = rearrange(
            self.expand(x),
            "b h w (p1 p2 c) -> b (h p1) (w p2) c",
            p1=self.scale,
            p2=self.scale,
        )
        return self.norm(x)


class FinalPatchExpand2D(PatchExpand2D):
    """Linear(dim, s dim, no bias), pixel shuffle x s, LayerNorm(dim / s); s = patch."""

    def __init__(self, dim, scale=4):
        super().__init__(dim, scale=scale)


class VMUNet(nn.Module):
    """VM-UNet: a U-shaped network of VSS blocks (channels in -> channels out).

    Parameters
    ----------
    in_chans : int
        Input channels.
    num_classes : int
        Output channels (the fMRI slices D in Spec2VolCAMU-Net).
    patch_size : int, default=4
    dims : sequence of int, default=(96, 192, 384, 768)
        Encoder widths; each must be twice the previous one (patch merging doubles
        the width) and ``dims[0]`` divisible by ``patch_size``.
    depths : sequence of int, default=(2, 2, 9, 2)
        VSS blocks per encoder stage.
    depths_decoder : sequence of int, default=(2, 9, 2, 2)
        VSS blocks per decoder stage, deepest first.
    d_state : int, default=16
    drop_path_rate : float, default=0.2
        Stochastic depth, linear from 0 over the encoder blocks (reversed in the
        decoder), as in VM-UNet.
    scan_backend : str, default="auto"

    Notes
    -----
    Input height and width must be divisible by ``patch_size * 2 ** (len(dims) - 1)``
    (:attr:`grid_multiple`).
    """

    def __init__(
        self,
        in_chans,
        num_classes,
        patch_size=4,
        dims=(96, 192, 384, 768),
        depths=(2, 2, 9, 2),
        depths_decoder=(2, 9, 2, 2),
        d_state=16,
        drop_path_rate=0.2,
        scan_backend="auto",
    ):
        super().__init__()
        dims, depths, depths_decoder = tuple(dims), tuple(depths), tuple(depths_decoder)
        if not len(dims) == len(depths) == len(depths_decoder):
            raise ValueError(
                f"dims, depths and depths_decoder must have the same length; got "
                f"{len(dims)}, {len(depths)} and {len(depths_decoder)}."
            )
        if any(b != 2 * a for a, b in zip(dims[:-1], dims[1:], strict=True)):
            raise ValueError(
                f"each entry of dims must double the previous one; got {dims}."
            )
        if dims[0] % patch_size:
            raise ValueError(
                f"dims[0]={dims[0]} must be divisible by patch_size={patch_size}."
            )
        n_stages = len(dims)
        self.grid_multiple = patch_size * 2 ** (n_stages - 1)
        self.patch_embed = PatchEmbed2D(in_chans, dims[0], patch_size)

        dpr = _linspace(drop_path_rate, sum(depths))
        dpr_dec = _linspace(drop_path_rate, sum(depths_decoder))[::-1]
        self.layers = nn.ModuleList()
        for i, dim in enumerate(dims):
            rates = dpr[sum(depths[:i]) : sum(depths[: i + 1])]
            blocks = [VSSBlock(dim, r, d_state, scan_backend) for r in rates]
            if i < n_stages - 1:
                blocks.append(PatchMerging2D(dim))
            self.layers.append(nn.Sequential(*blocks))
        self.layers_up = nn.ModuleList()
        dims_dec = dims[::-1]
        for i, dim in enumerate(dims_dec):
            rates = dpr_dec[sum(depths_decoder[:i]) : sum(depths_decoder[: i + 1])]
            blocks = [PatchExpand2D(2 * dim)] if i > 0 else []
            blocks += [VSSBlock(dim, r, d_state, scan_backend) for r in rates]
            self.layers_up.append(nn.Sequential(*blocks))
        self.final_up = FinalPatchExpand2D(dims[0], scale=patch_size)
        self.final_conv = nn.Conv2d(dims[0] // patch_size, num_classes, 1)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        # VSSM._init_weights: Linear trunc_normal(.02) + zero bias; LayerNorm 1/0.
        # SS2D's x_proj/dt_proj/A/D are raw Parameters and keep their own init.
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        """x : (batch, in_chans, H, W) -> (batch, num_classes, H, W), raw outputs."""
        check_grid_divisible(x, self.grid_multiple, "VMUNet")
        x = self.patch_embed(x)  # (b, h/p, w/p, dims[0])
        skips = []
        for layer in self.layers:
            skips.append(x)
            x = layer(x)
        # the deepest decoder stage takes the bottleneck; the next ones add the input
        # of the matching encoder stage (the patch-embed output is never used)
        for i, layer in enumerate(self.layers_up):
            x = layer(x if i == 0 else x + skips[-i])
        x = self.final_up(x).permute(0, 3, 1, 2)  # (b, dims[0] / p, h, w)
        return self.final_conv(x)
