"""Spec2VolCAMU-Net (He, Li, Jiang, Yan 2025; arXiv 2505.09521): EEG spectra -> fMRI.

Spectrogram encoder (projection + MD-TF-CAE blocks, :mod:`.encoder`) -> the
encoder output is put on the decoder grid -> VM-UNet decoder (:mod:`.vmunet`) with
the fMRI slices as output channels.

This follows the official code (hdy6438/Spec2VolCAMU-Net), whose numbers the paper
reports, where it differs from the paper's text:

==============  ==============================  ======================================
topic           paper text                      official code (= this module)
==============  ==============================  ======================================
input axes      C electrodes x T time x F freq  (batch, 20 TR windows as conv
                                                channels, electrodes, 249 bins)
self-attention  across electrodes / across      over frequency bins, separately for
                time and frequency              each electrode row
"3x1" conv      along time ("temporal")         along electrode rows
to decoder      (not described)                 zero-pad bottom/right to a fixed 64x64
output          volume in [0, 1]                raw values (no final activation)
==============  ==============================  ======================================

Our generalisations (the official code hard-codes 64x64 and silently crops anything
larger): the decoder grid is the target in-plane size ``(H, W)``, rounded up to a
multiple of ``patch_size * 2 ** (n_stages - 1)`` (32 for the official decoder;
``2 ** (n_stages - 1)`` for ``decoder="unet"``); the output is cropped back to
``(H, W)``. ``fit="pad"`` (default, official) zero-pads the encoder output
``(batch, N, n_channels, n_freqs')`` where it is smaller than the grid and bilinearly
resizes an axis that is larger; ``fit="resize"`` always resizes bilinearly.
``output_activation="sigmoid"`` squashes the output to [0, 1] (the official model
returns raw values).

Beyond the paper: ``bridge_latents=K > 0`` adds a :class:`~.bridge.GlobalBridge`
from the projection's output (or, ``bridge_source="encoder"``, from the encoder's)
to the output: K latent time courses with one learned spatial map each, added to the
decoder's output. Without it the network does not learn the EEG-driven BOLD
fluctuations (``docs/why_models_fail.rst``); with it, it does.

Presets: ``spec2vol`` (official: 45,927,230 parameters for 64 electrodes, 249 bins,
D=30; no bridge), ``spec2vol-small`` (CPU-friendly, with the bridge),
``spec2vol-bridge`` (``spec2vol-small``'s projection and bridge alone,
``decoder="none"``: the default model of :class:`~eeg2fmri.Spec2VolEstimator`),
``spec2vol-tiny`` (tests, with the bridge).
"""

import torch

from ..ops import BACKENDS as SCAN_BACKENDS
from ._registry import register_model
from .blocks import (
    Eeg2fmriModel,
    check_choice,
    check_positive_int,
    fit_to_grid,
    round_up_grid,
    to_tuple,
)
from .bridge import GlobalBridge
from .encoder import CONV_PATHS, SpectrogramEncoder
from .unet import ConvUNet
from .vmunet import VMUNet

__all__ = ["Spec2Vol", "spec2vol", "spec2vol_small", "spec2vol_tiny"]

_ALL_PATHS = ("electrode", "frequency", "square")


class Spec2Vol(Eeg2fmriModel):
    """Spec2VolCAMU-Net: EEG spectra in 2D (electrodes x bins) -> fMRI volume.

    Parameters
    ----------
    n_context : int, default=20
        Past TR windows per input; the encoder's input channels.
    n_channels : int, default=64
        EEG electrodes (input height).
    n_freqs : int, default=249
        Frequency bins (input width).
    out_shape : tuple of int (D, H, W), default=(30, 64, 64)
        Output volume: D slices (the decoder's output channels) and in-plane size.
    hidden_dim : int, default=256
        Encoder width N (official 256).
    n_blocks : int, default=2
        MD-TF-CAE blocks; each halves the frequency axis.
    n_heads : int, default=8
        Attention heads (must divide ``hidden_dim``).
    conv_paths : sequence of str, default=("electrode", "frequency", "square")
        Directional conv paths kept in each block (ablation); empty skips the
        multi-scale part.
    attention : bool, default=True
        Keep the frequency self-attention (ablation).
    decoder : {"vmunet", "unet", "none"}, default="vmunet"
        VM-UNet (official), a standard conv U-Net (ablation) with widths ``dims``, or
        none (ablation: the bridge alone, on the projection; needs
        ``bridge_latents > 0``, and the MD-TF-CAE blocks are not built).
    dims : sequence of int, default=(96, 192, 384, 768)
        Decoder widths per stage.
    depths : sequence of int, default=(2, 2, 9, 2)
        VSS blocks per VM-UNet encoder stage.
    depths_decoder : sequence of int, default=(2, 9, 2, 2)
        VSS blocks per VM-UNet decoder stage.
    patch_size : int, default=4
        VM-UNet patch embedding size.
    d_state : int, default=16
        SSM state size.
    drop_path_rate : float, default=0.2
        VM-UNet stochastic depth.
    fit : {"pad", "resize"}, default="pad"
        How encoder features reach the decoder grid (see the module docstring).
    output_activation : {None, "sigmoid"}, default=None
        None returns raw values (official).
    scan_backend : str, default="auto"
        Selective-scan backend (:func:`eeg2fmri.ops.selective_scan`).
    bridge_latents : int, default=0
        0: no bridge (official). K > 0: add a :class:`~.bridge.GlobalBridge` with K
        latent time courses and learned spatial maps to the output.
    bridge_bands : int, default=32
        Learned frequency bands of the bridge's pooling.
    bridge_source : {"projection", "encoder"}, default="projection"
        Features the bridge reads: the projection's output (electrodes x all bins,
        before the MD-TF-CAE blocks) or the encoder's output.
    """

    name = "spec2vol"

    def __init__(
        self,
        n_context=20,
        n_channels=64,
        n_freqs=249,
        out_shape=(30, 64, 64),
        *,
        hidden_dim=256,
        n_blocks=2,
        n_heads=8,
        conv_paths=_ALL_PATHS,
        attention=True,
        decoder="vmunet",
        dims=(96, 192, 384, 768),
        depths=(2, 2, 9, 2),
        depths_decoder=(2, 9, 2, 2),
        patch_size=4,
        d_state=16,
        drop_path_rate=0.2,
        fit="pad",
        output_activation=None,
        scan_backend="auto",
        bridge_latents=0,
        bridge_bands=32,
        bridge_source="projection",
    ):
        super().__init__()
        conv_paths = to_tuple(conv_paths, "conv_paths", kind=str, allow_empty=True)
        dims = to_tuple(dims, "dims")
        depths = to_tuple(depths, "depths", length=len(dims))
        depths_decoder = to_tuple(depths_decoder, "depths_decoder", length=len(dims))
        self._init_common(locals(), n_context, n_channels, n_freqs, out_shape)
        check_positive_int(hidden_dim, "hidden_dim")
        check_positive_int(n_blocks, "n_blocks")
        check_positive_int(n_heads, "n_heads")
        check_positive_int(patch_size, "patch_size")
        check_positive_int(d_state, "d_state")
        for p in conv_paths:
            check_choice(p, "conv_paths entry", CONV_PATHS)
        if len(set(conv_paths)) != len(conv_paths):
            raise ValueError(f"conv_paths has duplicates: {list(conv_paths)}.")
        if attention and hidden_dim % n_heads:
            raise ValueError(
                f"hidden_dim={hidden_dim} must be divisible by n_heads={n_heads}."
            )
        check_choice(decoder, "decoder", ("vmunet", "unet", "none"))
        if decoder == "none" and not bridge_latents:
            raise ValueError(
                "decoder='none' needs a bridge (bridge_latents > 0): without a decoder "
                "the bridge is the only path to the output."
            )
        check_choice(fit, "fit", ("pad", "resize"))
        check_choice(scan_backend, "scan_backend", SCAN_BACKENDS)
        check_choice(output_activation, "output_activation", (None, "sigmoid"))
        if bridge_latents:
            check_positive_int(bridge_latents, "bridge_latents")
            check_positive_int(bridge_bands, "bridge_bands")
        check_choice(bridge_source, "bridge_source", ("projection", "encoder"))
        if not 0.0 <= drop_path_rate < 1.0:
            raise ValueError(
                f"drop_path_rate must be in [0, 1); got {drop_path_rate!r}."
            )

        self.fit = fit
        self.output_activation = output_activation
        self.encoder = SpectrogramEncoder(
            n_context,
            hidden_dim,
            0 if decoder == "none" else n_blocks,
            n_heads,
            conv_paths,
            bool(attention),
        )
        n_slices = self.out_shape[0]
        if decoder == "none":
            self.decoder = None
            bridge_source = "projection"
        elif decoder == "vmunet":
            self.decoder = VMUNet(
                hidden_dim,
                n_slices,
                patch_size,
                dims,
                depths,
                depths_decoder,
                d_state,
                drop_path_rate,
                scan_backend,
            )
        else:
            self.decoder = ConvUNet(hidden_dim, n_slices, dims)
        multiple = 1 if self.decoder is None else self.decoder.grid_multiple
        self.grid = round_up_grid(self.out_shape[1:], multiple)
        self.bridge_source = bridge_source
        self.bridge = None
        if bridge_latents:
            if bridge_source == "projection":
                bridge_freqs = n_freqs
            else:
                bridge_freqs = self.encoder.output_size(n_channels, n_freqs)[1]
            self.bridge = GlobalBridge(
                hidden_dim,
                n_channels,
                bridge_freqs,
                self.out_shape,
                n_latents=bridge_latents,
                n_bands=bridge_bands,
            )

    def forward_features(self, x):
        """x : (batch, n_context, n_channels, n_freqs) -> (batch, hidden_dim, grid_h,
        grid_w): the encoder's output placed on the decoder grid."""
        return fit_to_grid(self.encoder(x), self.grid, self.fit)

    def forward_head(self, feats):
        """feats : (batch, hidden_dim, grid_h, grid_w) -> (batch, D, H, W): the decoded
        volumes (without the bridge)."""
        return self._activate(self._decode(feats))

    def _decode(self, feats):
        _, h, w = self.out_shape
        return self.decoder(feats)[:, :, :h, :w]

    def _activate(self, y):
        return y.sigmoid() if self.output_activation == "sigmoid" else y

    def forward(self, x):
        """x : (batch, n_context, n_channels, n_freqs) -> (batch, D, H, W) volumes.

        The decoder's output plus, with a bridge, the bridge's (the sigmoid of
        ``output_activation`` applies to the sum).
        """
        self.check_input(x)
        projected = self.encoder.project(x)
        if self.decoder is None:
            return self._activate(self.bridge(projected))
        encoded = self.encoder.blocks(projected)
        y = self._decode(fit_to_grid(encoded, self.grid, self.fit))
        if self.bridge is not None:
            source = projected if self.bridge_source == "projection" else encoded
            y = y + self.bridge(source)
        return self._activate(y)

    def output_layer(self):
        """The decoder's last layer (the 1x1 conv that produces the slices), or None."""
        if self.decoder is None:
            return None
        return getattr(self.decoder, "final_conv", None) or self.decoder.head

    @torch.no_grad()
    def zero_output_(self):
        """Make the network output exactly 0: zero the decoder's last layer (and the
        bridge's maps). Used to start training from the mean-volume baseline."""
        layer = self.output_layer()
        if layer is not None:
            layer.weight.zero_()
            if layer.bias is not None:
                layer.bias.zero_()
        if self.bridge is not None:
            self.bridge.zero_output_()


_OFFICIAL_NOTE = (
    "official topology, kept to reproduce the paper: it can fit a few dozen pairs, "
    "but without a bridge it does not learn the EEG-driven fluctuations of held-out "
    "participants (docs/why_models_fail.rst)"
)


@register_model("spec2vol", note=_OFFICIAL_NOTE)
def spec2vol(**kwargs):
    """Official Spec2VolCAMU-Net: N=256, 8 heads, VM-UNet 96..768, 2-2-9-2 / 2-9-2-2.

    45,927,230 parameters for D=30 (45,927,280 for D=32), for any electrode and bin
    count (the encoder is convolutional/attention only). No bridge.
    """
    return Spec2Vol._preset("spec2vol", {}, kwargs)


@register_model("spec2vol-small")
def spec2vol_small(**kwargs):
    """Same architecture, narrow and shallow for CPU training, plus a global bridge.

    N=16 with one attention head (head size 16: on CPU the attention over 249 bins
    costs per head, and heads of size 8 are slower than one of size 16), VM-UNet
    widths 16/32/64/128, depths 1-1-3-1 / 1-3-1-1 (the official deep third stage,
    scaled down), and a :class:`~.bridge.GlobalBridge` from the projection with 8
    latent time courses over 32 learned bands (``bridge_latents=0`` removes it).
    Timings and memory: ``benchmarks/bench_models.py``.
    """
    defaults = dict(
        hidden_dim=16,
        n_heads=1,
        dims=(16, 32, 64, 128),
        depths=(1, 1, 3, 1),
        depths_decoder=(1, 3, 1, 1),
        drop_path_rate=0.1,
        bridge_latents=8,
        bridge_bands=32,
    )
    return Spec2Vol._preset("spec2vol-small", defaults, kwargs)


@register_model("spec2vol-bridge")
def spec2vol_bridge(**kwargs):
    """``spec2vol-small`` without its MD-TF-CAE blocks and VM-UNet decoder.

    The input projection (per-electrode linear layer over the context windows, N=16)
    and the :class:`~.bridge.GlobalBridge` (8 latent time courses over 32 learned
    bands, one spatial map each): 273,016 parameters for 32 electrodes, 249 bins and
    a 16 x 32 x 32 grid. The study's "bridge only" row (``docs/study.rst``).
    """
    defaults = dict(
        hidden_dim=16,
        n_heads=1,
        decoder="none",
        bridge_latents=8,
        bridge_bands=32,
    )
    return Spec2Vol._preset("spec2vol-bridge", defaults, kwargs)


@register_model("spec2vol-tiny")
def spec2vol_tiny(**kwargs):
    """A few thousand parameters, two decoder stages and a bridge: for tests."""
    defaults = dict(
        hidden_dim=16,
        n_heads=2,
        dims=(8, 16),
        depths=(1, 1),
        depths_decoder=(1, 1),
        d_state=4,
        drop_path_rate=0.1,
        bridge_latents=4,
        bridge_bands=8,
    )
    return Spec2Vol._preset("spec2vol-tiny", defaults, kwargs)
