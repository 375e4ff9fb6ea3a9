"""Small building blocks shared by the model files (one block = one small module).

Also holds the common model surface (:class:`Eeg2fmriModel`: shape checks,
``get_config``, ``get_output_shape``) and the helpers that put encoder features on the
decoder grid.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "DropPath",
    "LayerNorm2d",
    "Eeg2fmriModel",
    "fit_to_grid",
    "round_up_grid",
    "to_tuple",
]


def to_tuple(value, name, *, length=None, kind=int, allow_empty=False):
    """Normalise a list/tuple argument (JSON gives lists) to a tuple, checking it."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence; got {value!r}.")
    out = tuple(value)
    if not allow_empty and not out:
        raise ValueError(f"{name} must not be empty.")
    if length is not None and len(out) != length:
        raise ValueError(f"{name} must have {length} entries; got {len(out)}: {out!r}.")
    if kind is int:
        if not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in out
        ):
            raise ValueError(f"{name} must hold positive integers; got {out!r}.")
    return out


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return value


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}.")
    return value


class DropPath(nn.Module):
    """Stochastic depth: zero the residual branch of whole samples while training.

    Parameters
    ----------
    drop_prob : float, default=0.0
        Probability of dropping the branch for a sample; kept samples are scaled by
        ``1 / (1 - drop_prob)``.
    """

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x):
        """x : Tensor of shape (batch, ...) -> same shape."""
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self):
        return f"drop_prob={self.drop_prob:.3f}"


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a (batch, channels, height, width) tensor."""

    def forward(self, x):
        """x : Tensor of shape (batch, channels, height, width) -> same shape."""
        x = x.permute(0, 2, 3, 1)  # (b, h, w, c)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def round_up_grid(size, multiple):
    """Smallest (H, W) >= ``size`` with both sides divisible by ``multiple``."""
    return tuple(int(math.ceil(s / multiple) * multiple) for s in size)


def fit_to_grid(x, grid, mode="pad"):
    """Put encoder features on the decoder grid.

    Parameters
    ----------
    x : Tensor of shape (batch, channels, height, width)
    grid : tuple of int (grid_height, grid_width)
    mode : {"pad", "resize", "bicubic"}
        ``"pad"``: zero-pad the bottom/right of every axis that is smaller than the
        grid (what the official Spec2VolCAMU-Net code does, to a fixed 64x64); an
        axis that is larger is bilinearly resized down (the official code would crop
        it silently). ``"resize"``: bilinear resize to the grid. ``"bicubic"``:
        bicubic resize (E2fNet).

    Returns
    -------
    Tensor of shape (batch, channels, grid_height, grid_width)
    """
    h, w = x.shape[-2:]
    gh, gw = grid
    if (h, w) == (gh, gw):
        return x
    if mode == "pad":
        x = F.pad(x, (0, max(gw - w, 0), 0, max(gh - h, 0)))
        if tuple(x.shape[-2:]) == (gh, gw):
            return x
        # an axis is larger than the grid: shrink it (padded axes stay unchanged)
        mode = "resize"
    interp = "bicubic" if mode == "bicubic" else "bilinear"
    return F.interpolate(x, size=(gh, gw), mode=interp, align_corners=False)


class Eeg2fmriModel(nn.Module):
    """Common surface of every registered model.

    Subclasses call ``self._store_config(locals())`` in ``__init__`` and implement
    ``forward_features``/``forward_head``. ``name`` is the registered preset name
    (set by the preset function).
    """

    #: registered preset name used by :func:`model_from_config`
    name = ""

    @classmethod
    def _preset(cls, name, defaults, overrides):
        """A model of preset ``name``: ``defaults`` updated by ``overrides``."""
        model = cls(**{**defaults, **overrides})
        model.name = name
        return model

    def _init_common(self, config, n_context, n_channels, n_freqs, out_shape):
        self.n_context = check_positive_int(n_context, "n_context")
        self.n_channels = check_positive_int(n_channels, "n_channels")
        self.n_freqs = check_positive_int(n_freqs, "n_freqs")
        self.out_shape = to_tuple(out_shape, "out_shape", length=3)
        cfg = {k: v for k, v in config.items() if k not in ("self", "__class__")}
        self._config = _jsonable(cfg)

    def get_config(self):
        """Constructor arguments plus the registered ``name`` (JSON-serialisable).

        Returns
        -------
        dict
            ``{"name": ..., "n_context": ..., "n_channels": ..., "n_freqs": ...,
            "out_shape": [D, H, W], ...}``; :func:`eeg2fmri.models.model_from_config`
            rebuilds the same architecture from it.
        """
        return {"name": self.name, **_jsonable(self._config)}

    def get_output_shape(self):
        """(D, H, W) of one output volume."""
        return self.out_shape

    def check_input(self, x):
        """Raise ValueError unless x is (batch, n_context, n_channels, n_freqs)."""
        expected = (self.n_context, self.n_channels, self.n_freqs)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"{type(self).__name__} input must be (batch, n_context, n_channels, "
                f"n_freqs) = (batch, {', '.join(map(str, expected))}); "
                f"got {tuple(x.shape)}."
            )

    def forward(self, x):
        """Synthesize volumes from EEG spectra.

        Parameters
        ----------
        x : Tensor of shape (batch, n_context, n_channels, n_freqs)

        Returns
        -------
        Tensor of shape (batch, D, H, W)
        """
        self.check_input(x)
        return self.forward_head(self.forward_features(x))


def check_grid_divisible(x, multiple, owner):
    """Raise ValueError unless the height and width of ``x`` (``(..., H, W)``) are
    multiples of ``multiple`` (a U-Net's ``grid_multiple``); ``owner`` names it."""
    h, w = x.shape[-2:]
    if h % multiple or w % multiple:
        raise ValueError(
            f"{owner} input height and width must be divisible by {multiple}; "
            f"got {h}x{w}."
        )


def _jsonable(value):
    """Tuples -> lists, recursively (so that a JSON round trip gives an equal dict)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.dtype):
        return str(value)
    return value
