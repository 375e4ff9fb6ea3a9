"""Latent drives: a few non-linear time courses read from band power, each with a map.

What the BOLD that EEG predicts looks like, to a good approximation (the simulator's
generative model, and the EEG-fMRI literature it follows): a few network time courses,
each a haemodynamic response to a *neural drive* that the EEG's band power reflects,
possibly gated by a brain state (vigilance) and through a non-linear spectral profile,
times a fixed spatial map per network. :class:`LatentDrive` builds exactly that
structure, with as few parameters as it takes:

1. learned band pooling of the frequency axis (``n_freqs -> n_bands``, initialised as
   averages over log-spaced contiguous bins, about octaves);
2. per context window, from the band powers of all channels ``v_t``, ``K`` drives
   ``u_k(t) = a_k . v_t * 2 sigmoid(g_k . v_t + c_k)
   + sum_j M_kj gelu(W_j . v_t + b_j)``:
   a linear drive times a state gate (1 at initialisation) plus a small non-linear
   part (0 at initialisation), the same weights for every window;
3. one learned temporal kernel per drive over the context windows (the haemodynamic
   response, one per network): ``z_k = sum_t kernel_kt u_k(t)``;
4. one learned spatial map per drive: ``y = sum_k z_k map_k`` (small random values at
   initialisation; :class:`~eeg2fmri.Spec2VolEstimator` zeroes them with
   :meth:`LatentDrive.zero_output_`, so that training starts by predicting the mean
   and learns only what reduces the loss).

Compared with the :class:`~eeg2fmri.models.bridge.GlobalBridge` (one linear readout of
every (feature, electrode, band, window) value), the drive weights are shared across
the context windows and the time course is a separate kernel: a space-time separable
model with ``K (2 C B + T)`` weights instead of ``K N C B`` (``N`` projected channels
mixing the windows), which needs fewer training pairs, and the gate and the non-linear
part let the drives depend on band power non-linearly. With ``gate=False`` and
``n_hidden=0`` it is a linear, separable model of band power.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._registry import register_model
from .blocks import Eeg2fmriModel, check_positive_int

__all__ = ["LatentDrive", "log_band_matrix", "latent_drive"]


def log_band_matrix(n_freqs, n_bands):
    """Averaging matrix over log-spaced contiguous bins, shape (n_freqs, n_bands).

    Parameters
    ----------
    n_freqs : int
    n_bands : int
        At most ``n_freqs`` columns are built (fewer where log-spaced edges would
        repeat a bin).

    Returns
    -------
    Tensor of shape (n_freqs, n_kept)
        Column ``j`` averages bins ``edges[j] .. edges[j + 1] - 1`` with edges spaced
        evenly in ``log(1 + bin)`` (bin 0 in the first band); every bin belongs to
        exactly one band. With the default features (bin ``k`` at ``(k + 1) / TR``
        Hz), narrow bands at low frequencies, wide ones at high frequencies, as the
        EEG's classical bands are.
    """
    n_freqs, n_bands = int(n_freqs), min(int(n_bands), int(n_freqs))
    raw = torch.logspace(0, math.log10(n_freqs + 1), n_bands + 1) - 1
    edges = sorted({0, n_freqs, *[int(round(e)) for e in raw.tolist()]})
    edges = [e for e in edges if 0 <= e <= n_freqs]
    pool = torch.zeros(n_freqs, len(edges) - 1)
    for j, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        pool[lo:hi, j] = 1.0 / (hi - lo)
    return pool


class LatentDrive(Eeg2fmriModel):
    """Non-linear latent drives of band power, temporal kernels and spatial maps.

    Parameters
    ----------
    n_context : int, default=20
        Context windows T per input.
    n_channels : int, default=64
        EEG electrodes C.
    n_freqs : int, default=249
        Frequency bins F.
    out_shape : tuple of int (D, H, W), default=(30, 64, 64)
    n_latents : int, default=8
        Drives K (one time course and one map each).
    n_bands : int, default=16
        Learned frequency bands B (log-spaced at initialisation; at most F).
    gate : bool, default=True
        Multiply every drive by a state gate ``2 sigmoid(g . v_t + c)`` read from the
        same band powers (1 at initialisation).
    n_hidden : int, default=16
        Hidden units of the additive non-linear part (GELU); 0 removes it.

    Attributes
    ----------
    band_pool : Parameter of shape (F, B)
    drive : nn.Linear
        ``C * B -> K``, the linear drives of one window.
    gate_layer : nn.Linear or None
        ``C * B -> K``, zero at initialisation.
    hidden, hidden_out : nn.Linear or None
        ``C * B -> n_hidden -> K``; ``hidden_out`` zero at initialisation.
    kernel : Parameter of shape (K, T)
        Temporal kernel of each drive over the context windows (oldest first),
        ``1 / T`` at initialisation.
    maps : Parameter of shape (K, D, H, W)
        Normal with standard deviation 0.01 at initialisation.
    """

    name = "latent-drive"

    def __init__(
        self,
        n_context=20,
        n_channels=64,
        n_freqs=249,
        out_shape=(30, 64, 64),
        *,
        n_latents=8,
        n_bands=16,
        gate=True,
        n_hidden=16,
    ):
        super().__init__()
        self._init_common(locals(), n_context, n_channels, n_freqs, out_shape)
        check_positive_int(n_latents, "n_latents")
        check_positive_int(n_bands, "n_bands")
        if isinstance(n_hidden, bool) or not isinstance(n_hidden, int) or n_hidden < 0:
            raise ValueError(f"n_hidden must be an int >= 0; got {n_hidden!r}.")
        if not isinstance(gate, bool):
            raise ValueError(f"gate must be a bool; got {gate!r}.")
        self.band_pool = nn.Parameter(log_band_matrix(n_freqs, n_bands))
        n_features = n_channels * self.band_pool.shape[1]
        self.drive = nn.Linear(n_features, n_latents)
        self.gate_layer = nn.Linear(n_features, n_latents) if gate else None
        self.hidden = nn.Linear(n_features, n_hidden) if n_hidden else None
        self.hidden_out = (
            nn.Linear(n_hidden, n_latents, bias=False) if n_hidden else None
        )
        self.kernel = nn.Parameter(torch.full((n_latents, n_context), 1.0 / n_context))
        self.maps = nn.Parameter(0.01 * torch.randn(n_latents, *self.out_shape))
        with torch.no_grad():
            if self.gate_layer is not None:
                self.gate_layer.weight.zero_()
                self.gate_layer.bias.zero_()
            if self.hidden_out is not None:
                self.hidden_out.weight.zero_()

    @property
    def n_latents(self):
        """Number of drives K."""
        return self.maps.shape[0]

    def drives(self, x):
        """Drives of every context window.

        Parameters
        ----------
        x : Tensor of shape (batch, T, C, F)

        Returns
        -------
        Tensor of shape (batch, T, K)
        """
        v = torch.matmul(x, self.band_pool).flatten(2)  # (b, T, C * B)
        u = self.drive(v)
        if self.gate_layer is not None:
            u = u * (2.0 * torch.sigmoid(self.gate_layer(v)))
        if self.hidden is not None:
            u = u + self.hidden_out(F.gelu(self.hidden(v)))
        return u

    def latents(self, x):
        """Latent time-course values of each sample: (batch, T, C, F) -> (batch, K)."""
        return torch.einsum("btk,kt->bk", self.drives(x), self.kernel)

    def forward_features(self, x):
        """x : (batch, T, C, F) -> (batch, K): the latent values (:meth:`latents`)."""
        return self.latents(x)

    def forward_head(self, feats):
        """feats : (batch, K) -> (batch, D, H, W): the latents weight the maps."""
        return torch.einsum("bk,kdhw->bdhw", feats, self.maps)

    @torch.no_grad()
    def zero_output_(self):
        """Set the spatial maps to zero (the model then outputs 0)."""
        self.maps.zero_()


@register_model("latent-drive")
def latent_drive(**kwargs):
    """8 non-linear latent drives of 16 learned bands, temporal kernels, maps."""
    model = LatentDrive(**kwargs)
    model.name = "latent-drive"
    return model
