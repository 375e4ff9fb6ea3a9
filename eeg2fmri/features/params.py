"""Preprocessing parameters of the EEG features: :class:`FeatureParams`.

The defaults are those the benchmark study chose (``docs/study.rst``): the official
TR-window spectra, but as log magnitudes without the official z-score across
electrodes, which removes the band-power level that the BOLD depends on (the
estimator then standardizes each channel and frequency with training statistics).
:meth:`FeatureParams.official` reproduces the official Spec2VolCAMU-Net / E2fNet
preprocessing (``utils.py`` of hdy6438/Spec2VolCAMU-Net), and
:meth:`FeatureParams.paper` the variant described in the paper's text. The
differences between the official code and the paper's text:

- window: rectangular ``"boxcar"`` (official) vs ``"hann"`` (paper: "STFT").
- context: ``n_context=20`` TR windows, 43.2 s for NODDI (official) vs
  ``context_seconds=20`` (paper).
- lag: 0, the context ends at the target's onset (official) vs 6 s before the onset
  (paper: neurovascular lag).
- normalization: z-score across electrodes per (window, frequency) cell (official) vs
  none, the paper min-max scales the EEG (the estimator does that with training
  statistics).
- frequency bins: bins 1..249 of a TR-long FFT, DC dropped, in both. The paper's
  "250 Hz cutoff" changes nothing: all 249 bins lie below 200 Hz on its datasets.
"""

import numbers
from dataclasses import asdict, dataclass, fields

import scipy.signal

__all__ = ["FeatureParams", "NORMALIZATIONS"]

#: Accepted values of :attr:`FeatureParams.normalization`.
NORMALIZATIONS = ("zscore_electrodes", "zscore_channels", "none")


@dataclass(frozen=True)
class FeatureParams:
    """How EEG is turned into TR-window spectra and paired with BOLD volumes.

    Parameters
    ----------
    n_freqs : int, default=249
        Number of frequency bins kept per window (F). Bin ``k`` sits at ``k / TR`` Hz.
        Bins above the Nyquist frequency of the window are zero (with a warning).
    drop_dc : bool, default=True
        Keep bins ``1..n_freqs`` (True, official) or ``0..n_freqs-1`` (False).
    window : str or tuple, default="boxcar"
        Taper applied to each window before the FFT; any
        :func:`scipy.signal.get_window` specification (``"hann"``, ``("tukey", 0.25)``).
        ``"boxcar"`` is the official rectangular window.
    log_magnitude : bool, default=True
        Take the natural log of the FFT magnitude (before normalization); the
        official code keeps the magnitude (False). Zero magnitudes are clipped to the
        smallest positive float32 first; zero-padded bins above Nyquist stay zero.
    normalization : {"none", "zscore_electrodes", "zscore_channels"}, default="none"
        ``"zscore_electrodes"`` (official): for each (window, frequency) cell, z-score
        across electrodes (``scipy.stats.zscore`` along the channel axis, ddof 0).
        ``"zscore_channels"``: for each (channel, frequency), z-score over the run's
        windows. ``"none"``: raw magnitudes (in the EEG's units, volts for mne).
        A zero standard deviation gives 0, never NaN.
    n_context : int, default=20
        Number of consecutive TR windows that form the input of one target volume.
    context_seconds : float, optional
        If given, the context length in seconds; ``n_context`` is then
        ``round(context_seconds / TR)`` for each run (see :meth:`n_context_for`).
    lag : float, default=0.0
        Seconds between the end of the context and the target volume's onset. The
        window grid is shifted: window ``v`` starts at ``onset_v - lag`` instead of
        ``onset_v``, so the context of volume ``v`` (windows ``v - n_context .. v - 1``)
        ends ``lag`` seconds before ``onset_v``.
    discard_volumes : int, default=6
        The first volumes that are never targets (official ``bold_shift=6``).
    use_pre_scan_eeg : bool, default=False
        False (official): context windows also belong to volumes
        ``>= discard_volumes``, so a run of ``n_volumes`` gives
        ``n_volumes - discard_volumes - n_context`` pairs. True: the EEG recorded
        before and during the discarded volumes (and before the first volume, in steps
        of TR, while the EEG exists) may serve as context, which gives more pairs.
    """

    n_freqs: int = 249
    drop_dc: bool = True
    window: str | tuple = "boxcar"
    log_magnitude: bool = True
    normalization: str = "none"
    n_context: int = 20
    context_seconds: float | None = None
    lag: float = 0.0
    discard_volumes: int = 6
    use_pre_scan_eeg: bool = False

    def __post_init__(self):
        for name in ("n_freqs", "n_context", "discard_volumes"):
            value = getattr(self, name)
            if not isinstance(value, bool) and isinstance(value, numbers.Integral):
                object.__setattr__(self, name, int(value))
        for name in ("n_freqs", "n_context"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"FeatureParams.{name} must be a positive integer, got {value!r}"
                )
        dv = self.discard_volumes
        if isinstance(dv, bool) or not isinstance(dv, int) or dv < 0:
            raise ValueError(
                f"FeatureParams.discard_volumes must be an integer >= 0, got {dv!r}"
            )
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"FeatureParams.normalization must be one of {NORMALIZATIONS}, "
                f"got {self.normalization!r}"
            )
        if not (isinstance(self.lag, numbers.Real) and self.lag >= 0):
            raise ValueError(
                f"FeatureParams.lag must be a number of seconds >= 0, got {self.lag!r}"
            )
        cs = self.context_seconds
        if cs is not None and not (isinstance(cs, numbers.Real) and cs > 0):
            raise ValueError(
                f"FeatureParams.context_seconds must be > 0 or None, got {cs!r}"
            )
        if isinstance(self.window, list):
            object.__setattr__(self, "window", tuple(self.window))
        try:
            scipy.signal.get_window(self.window, 8)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"FeatureParams.window must be a scipy.signal.get_window name, "
                f"got {self.window!r} ({exc})"
            ) from None
        object.__setattr__(self, "lag", float(self.lag))
        if cs is not None:
            object.__setattr__(self, "context_seconds", float(cs))

    @classmethod
    def official(cls, **overrides):
        """The preprocessing of the official Spec2VolCAMU-Net / E2fNet code.

        Rectangular TR-window FFT magnitudes (no log) of bins 1..249, z-scored across
        electrodes in every (window, frequency) cell, 20 windows of context ending at
        the target volume's onset, the first 6 volumes discarded. Pair it with
        :meth:`eeg2fmri.Spec2VolEstimator.official` to reproduce the paper.

        Parameters
        ----------
        **overrides
            Any field.

        Returns
        -------
        params : FeatureParams
        """
        base = dict(log_magnitude=False, normalization="zscore_electrodes")
        base.update(overrides)
        return cls(**base)

    @classmethod
    def paper(cls, **overrides):
        """The variant described in the paper's text (not what its code does).

        Hann-windowed spectra ("STFT"), a 20 s context that ends 6 s before the target
        volume (neurovascular lag), no z-scoring (the paper min-max scales the EEG,
        which the estimator does with training statistics). The paper's "250 Hz
        cutoff" is kept as 249 bins, which lie below 200 Hz on all three datasets.

        Parameters
        ----------
        **overrides
            Any field, to change one choice of the variant.

        Returns
        -------
        params : FeatureParams
        """
        base = dict(
            window="hann",
            context_seconds=20.0,
            lag=6.0,
            normalization="none",
            log_magnitude=False,
        )
        base.update(overrides)
        return cls(**base)

    def n_context_for(self, tr):
        """Number of context windows for a run with repetition time ``tr`` seconds.

        Parameters
        ----------
        tr : float
            Repetition time in seconds.

        Returns
        -------
        n_context : int
            ``n_context``, or ``max(1, round(context_seconds / tr))`` when
            ``context_seconds`` is set.
        """
        if self.context_seconds is None:
            return self.n_context
        return max(1, int(round(self.context_seconds / float(tr))))

    def to_dict(self):
        """Return the parameters as a JSON-serialisable dict (tuples become lists)."""
        d = asdict(self)
        if isinstance(d["window"], tuple):
            d["window"] = list(d["window"])
        return d

    @classmethod
    def from_dict(cls, d):
        """Rebuild parameters written by :meth:`to_dict`.

        Parameters
        ----------
        d : dict
            Field names to values; unknown keys raise ``ValueError``.

        Returns
        -------
        params : FeatureParams
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(
                f"FeatureParams.from_dict: unknown keys {unknown}; "
                f"expected some of {sorted(known)}"
            )
        return cls(**d)
