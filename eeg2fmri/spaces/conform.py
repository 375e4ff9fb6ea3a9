"""Put an EEG recording into a model's channels: :func:`conform_raw`.

A model trained on one cap meets recordings from others: other channel names for the
same sites, another order, missing or bad electrodes, extra channels, another
sampling rate. :func:`conform_raw` builds, with MNE, the recording the model expects:

1. channels matched by canonical name (case, the 10-20 aliases of
   :data:`~eeg2fmri.spaces.CHANNEL_ALIASES`), extra channels dropped;
2. a recording whose Nyquist frequency lies below the model's highest frequency bin is
   refused; another sampling rate is resampled to the model's
   (:meth:`mne.io.Raw.resample`, which low-pass filters first);
3. EEG channels the model needs that the recording lacks, or that it marks bad
   (``channels.tsv`` ``status=bad``, ``raw.info["bads"]``), are interpolated from the
   others with spherical splines (:meth:`mne.io.Raw.interpolate_bads`), with the
   recording's electrode positions when it has them, else the model's, else the
   standard 10-05 montage's; non-EEG channels (ECG) cannot be interpolated from the
   scalp and are left for the caller to impute (:attr:`Conformed.imputed`);
4. the channels are put in the model's order.

Together, interpolated and imputed channels may be at most ``max_interpolated`` of
the model's channels (25 % by default); beyond that, or when no channel name matches,
a :class:`~eeg2fmri.exceptions.DataError` names them. Every adaptation is recorded in
the returned :class:`Conformed` (``to_sidecar()`` for the derivative's JSON).
"""

import functools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._utils.logging import logger
from ..exceptions import DataError
from .channels import canonical_channel_name, match_channels

__all__ = ["conform_raw", "Conformed", "DEFAULT_MAX_INTERPOLATED", "standard_position"]

#: Default largest fraction of a model's channels that may be interpolated or imputed.
DEFAULT_MAX_INTERPOLATED = 0.25


#: MNE's template 10-05 montage: ``colin27_1005`` since MNE 1.13 (the same positions
#: as the ``standard_1005`` name it replaces).
_TEMPLATE_MONTAGES = ("colin27_1005", "standard_1005")


@functools.lru_cache(maxsize=1)
def _standard_positions():
    import mne

    available = set(mne.channels.get_builtin_montages())
    name = next(m for m in _TEMPLATE_MONTAGES if m in available)
    montage = mne.channels.make_standard_montage(name)
    pos = montage.get_positions()["ch_pos"]
    return {
        canonical_channel_name(k): np.asarray(v, dtype=float)
        for k, v in pos.items()
    }


def standard_position(name):
    """Position (head frame, m) of a site in MNE's template 10-05 montage, or None.

    Parameters
    ----------
    name : str
        Channel name (case and the 10-20 aliases do not matter).

    Returns
    -------
    xyz : ndarray of shape (3,) or None
    """
    pos = _standard_positions().get(canonical_channel_name(name))
    return None if pos is None else pos.copy()


@dataclass
class Conformed:
    """The recording in the model's channels, and what it took.

    Attributes
    ----------
    raw : mne.io.RawArray
        Preloaded, channels = the model's (names, types, order), at the model's
        sampling rate; imputed channels hold zeros.
    renamed : dict of str to str
        Recording name -> model name, where the spelling differed.
    reordered : bool
        Whether the recording's channel order differed from the model's.
    dropped : list of str
        Recording channels the model does not use.
    missing : list of str
        Model channels absent from the recording.
    bad : list of str
        Model channels the recording marks bad (their data were not used).
    interpolated : list of str
        EEG channels rebuilt by spherical splines (missing or bad), model order.
    imputed : list of str
        Non-EEG channels the recording lacks or marks bad (e.g. ECG): the caller fills
        their features with the training mean.
    resampled : tuple of (float, float) or None
        ``(from_hz, to_hz)`` when the sampling rate changed.
    positions : str or None
        Where the interpolation's electrode positions came from.
    line_freq : tuple of (float or None, float or None)
        Power-line frequency of the recording and of the model's training data.
    notes : list of str
        Other things worth knowing (line frequency differs...).
    """

    raw: object
    renamed: dict = field(default_factory=dict)
    reordered: bool = False
    dropped: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    bad: list = field(default_factory=list)
    interpolated: list = field(default_factory=list)
    imputed: list = field(default_factory=list)
    resampled: tuple | None = None
    positions: str | None = None
    line_freq: tuple = (None, None)
    notes: list = field(default_factory=list)

    @property
    def adapted(self):
        """Whether anything was changed (bool)."""
        return bool(
            self.renamed or self.reordered or self.dropped or self.interpolated
            or self.imputed or self.resampled
        )

    def to_sidecar(self):
        """The adaptations as a JSON-able dict (BIDS-style keys) for a sidecar."""
        out = {
            "ChannelsRenamed": dict(self.renamed),
            "ChannelsReordered": bool(self.reordered),
            "ChannelsDropped": list(self.dropped),
            "ChannelsMissing": list(self.missing),
            "ChannelsBad": list(self.bad),
            "ChannelsInterpolated": list(self.interpolated),
            "ChannelsImputed": list(self.imputed),
            "Resampled": None
            if self.resampled is None
            else {"FromHz": self.resampled[0], "ToHz": self.resampled[1]},
        }
        if self.interpolated:
            out["InterpolationMethod"] = (
                "spherical splines (mne.io.Raw.interpolate_bads, method='spline')"
            )
            out["ElectrodePositions"] = self.positions
        if self.imputed:
            out["ImputationMethod"] = (
                "the model's mean training spectrum of the channel (non-EEG channels "
                "cannot be interpolated from scalp electrodes)"
            )
        if self.notes:
            out["Notes"] = list(self.notes)
        return out

    def summary(self):
        """One line per adaptation (list of str), for logs and reports."""
        lines = []
        if self.renamed:
            lines.append(
                "renamed " + ", ".join(f"{a}->{b}" for a, b in self.renamed.items())
            )
        if self.reordered:
            lines.append("reordered to the model's channel order")
        if self.dropped:
            lines.append("dropped (not model channels): " + ", ".join(self.dropped))
        if self.interpolated:
            lines.append(
                "interpolated (spherical splines): " + ", ".join(self.interpolated)
            )
        if self.imputed:
            lines.append("imputed (training mean): " + ", ".join(self.imputed))
        if self.resampled:
            lines.append(
                f"resampled {self.resampled[0]:g} Hz -> {self.resampled[1]:g} Hz"
            )
        return lines + list(self.notes)


def _check_fraction(max_interpolated):
    if not (
        isinstance(max_interpolated, int | float)
        and not isinstance(max_interpolated, bool)
        and 0 <= max_interpolated <= 1
    ):
        raise ValueError(
            f"max_interpolated: expected a fraction in [0, 1] of the model's channels, "
            f"got {max_interpolated!r}"
        )


def _short_list(names, n=8):
    names = list(names)
    more = f", ... ({len(names)} in all)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def _recording_position(raw, name):
    idx = raw.ch_names.index(name)
    loc = np.asarray(raw.info["chs"][idx]["loc"][:3], dtype=float)
    if not np.isfinite(loc).all() or np.allclose(loc, 0):
        return None
    return loc


def _positions(raw, spec, match, targets, source):
    """Positions of every EEG channel of the model (for interpolation) and their source.

    Recording positions when the recording has them for all its matched EEG channels;
    for the others the model's stored positions, else the standard 10-05 montage.
    """
    eeg = [n for n, t in zip(spec.ch_names, spec.ch_types, strict=True) if t == "eeg"]
    stored = dict(zip(spec.ch_names, spec.position_array(), strict=True))
    from_file = {
        n: _recording_position(raw, match.mapping[n]) for n in eeg if n in match.mapping
    }
    use_file = bool(from_file) and all(v is not None for v in from_file.values())
    pos, sources, unknown = {}, set(), []
    for name in eeg:
        xyz = from_file.get(name) if use_file else None
        if xyz is not None:
            sources.add("the recording")
        elif np.isfinite(stored[name]).all():
            xyz = stored[name]
            sources.add("the model file")
        else:
            xyz = standard_position(name)
            if xyz is not None:
                sources.add("MNE's template 10-05 montage")
        if xyz is None:
            unknown.append(name)
        else:
            pos[name] = xyz
    if unknown:
        needed = [n for n in unknown if n in targets]
        raise DataError(
            f"{source}: cannot interpolate {_short_list(targets)}: no electrode "
            f"position is known for {_short_list(needed or unknown)} (not in the "
            "recording, the model file or the standard 10-05 montage); give the "
            "recording a montage (electrodes.tsv) or a recording with those channels"
        )
    return pos, " and ".join(sorted(sources))


def conform_raw(
    raw, spec, *, max_interpolated=DEFAULT_MAX_INTERPOLATED, source=None,
    line_freq=None,
):
    """Put a recording into the channels and sampling rate of a model.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        The recording (preloaded or not; it is not modified).
    spec : EEGSpec
        The model's input (:attr:`~eeg2fmri.estimators.BaseVolumeRegressor.eeg_spec_`).
    max_interpolated : float, default=0.25
        Largest fraction of the model's channels that may be interpolated or imputed
        (missing from the recording or marked bad there).
    source : str, optional
        Name of the recording in messages (default: its file name).
    line_freq : float, optional
        The recording's power-line frequency (Hz; e.g. the sidecar's
        ``PowerLineFrequency``), default ``raw.info["line_freq"]``.

    Returns
    -------
    conformed : Conformed

    Raises
    ------
    DataError
        No channel name matches the model's, too many channels to interpolate, a
        needed electrode position is unknown, or the sampling rate is too low for the
        model's frequency bins.
    """
    import mne

    _check_fraction(max_interpolated)
    if source is None:
        files = [f for f in (getattr(raw, "filenames", None) or []) if f]
        source = str(files[0]) if files else "the recording"
    try:
        match = match_channels(spec.ch_names, raw.ch_names, source=source)
    except ValueError as err:
        raise DataError(str(err)) from None
    if not match.mapping:
        raise DataError(
            f"{source}: none of its {len(raw.ch_names)} channel names "
            f"({_short_list(raw.ch_names, 6)}) is a channel of the model "
            f"({_short_list(spec.ch_names, 6)}); expected 10-20/10-10 electrode "
            "names (set them in channels.tsv)"
        )
    rec_bads = set(raw.info["bads"])
    bad = [m for m, r in match.mapping.items() if r in rec_bads]
    fill = [n for n in spec.ch_names if n in match.missing or n in bad]
    limit = int(math.floor(max_interpolated * spec.n_channels + 1e-9))
    if len(fill) > limit:
        what = []
        if match.missing:
            what.append(f"missing {_short_list(match.missing)}")
        if bad:
            what.append(f"bad {_short_list(bad)}")
        raise DataError(
            f"{source}: {len(fill)} of the model's {spec.n_channels} channels would "
            f"have to be interpolated ({'; '.join(what)}); at most {limit} "
            f"(max_interpolated={max_interpolated:g}) are allowed"
        )
    sfreq = float(raw.info["sfreq"])
    if sfreq / 2 < spec.max_frequency - 1e-9:
        raise DataError(
            f"{source}: sampled at {sfreq:g} Hz (Nyquist {sfreq / 2:g} Hz), below the "
            f"model's highest frequency bin {spec.max_frequency:g} Hz; expected a "
            f"recording sampled at >= {2 * spec.max_frequency:g} Hz (the model was "
            f"trained at {spec.sfreq:g} Hz)"
        )
    kind = dict(zip(spec.ch_names, spec.ch_types, strict=True))
    interpolate = [n for n in fill if kind[n] == "eeg"]
    imputed = [n for n in fill if kind[n] != "eeg"]

    # read the matched channels only (a copy of those rows), then resample them
    keep = [match.mapping[n] for n in spec.ch_names if n in match.mapping]
    picks = [raw.ch_names.index(n) for n in keep]
    if not raw.preload:
        raw = raw.copy().load_data(verbose=False)
    values = raw.get_data(picks=picks)
    resampled = None
    if not math.isclose(sfreq, spec.sfreq, rel_tol=1e-9):
        values = mne.filter.resample(
            values, up=spec.sfreq, down=sfreq, npad="auto", axis=-1, verbose=False
        )
        resampled = (sfreq, spec.sfreq)
    data = np.zeros((spec.n_channels, values.shape[-1]), dtype=np.float64)
    rows = {name: i for i, name in enumerate(keep)}
    for i, name in enumerate(spec.ch_names):
        if name in match.mapping and name not in bad:
            data[i] = values[rows[match.mapping[name]]]
    del values
    info = mne.create_info(list(spec.ch_names), spec.sfreq, list(spec.ch_types))
    out = mne.io.RawArray(data, info, copy=None, verbose=False)
    if raw.info["meas_date"] is not None:
        out.set_meas_date(raw.info["meas_date"])
    out.set_annotations(raw.annotations.copy())
    rec_line = line_freq if line_freq is not None else raw.info.get("line_freq")
    out.info["line_freq"] = rec_line

    positions = None
    if interpolate:
        pos, positions = _positions(raw, spec, match, interpolate, source)
        montage = mne.channels.make_dig_montage(ch_pos=pos, coord_frame="head")
        out.set_montage(montage, on_missing="ignore", verbose=False)
        out.info["bads"] = list(interpolate)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out.interpolate_bads(
                reset_bads=True, mode="accurate", origin="auto",
                method={"eeg": "spline"}, verbose=False,
            )
        for w in caught:
            logger.debug("%s: interpolation: %s", source, w.message)
    notes = []
    model_line = spec.line_freq
    if rec_line and model_line and not math.isclose(float(rec_line), model_line):
        notes.append(
            f"power-line frequency {float(rec_line):g} Hz, the model's training data "
            f"had {model_line:g} Hz: line noise falls in other frequency bins"
        )
    conformed = Conformed(
        raw=out,
        renamed=dict(match.renamed),
        reordered=match.reordered,
        dropped=list(match.extra),
        missing=list(match.missing),
        bad=bad,
        interpolated=interpolate,
        imputed=imputed,
        resampled=resampled,
        positions=positions,
        line_freq=(None if rec_line is None else float(rec_line), model_line),
        notes=notes,
    )
    for line in conformed.summary():
        logger.info("%s: %s", source, line)
    return conformed
