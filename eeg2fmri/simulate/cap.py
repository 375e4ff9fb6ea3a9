"""Cap changes of an EEG "recorded elsewhere": another lab, another cap.

A :class:`CapPlan` says how the training cap of a preset becomes the cap written by
:func:`~eeg2fmri.simulate.simulate_eeg_only_dataset`: channels dropped, renamed
(e.g. the old 10-20 names), shuffled, channels the training cap does not have
(EOG, EMG, other 10-10 electrodes) and channels recorded badly. The plan is drawn
once per dataset (one lab, one cap); the bad channels are drawn per recording.

Every function here works on arrays; none changes the data of a channel it does not
create or corrupt, so the kept good channels are exactly the simulated ones.
"""

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import ndimage, signal

from .eeg_signals import ecg_waveform, heartbeats, montage_positions, pink_noise

__all__ = [
    "RENAME_10_20_OLD",
    "CapPlan",
    "plan_cap",
    "resample_ratio",
    "extra_channel_data",
    "choose_bad_channels",
    "corrupt_channel",
    "resample_and_crop",
]

#: ``rename="10-20-old"``: the old 10-20 names of four temporal/parietal electrodes
#: (T7/T8/P7/P8 were T3/T4/T5/T6 before the 10-10 system, American
#: Electroencephalographic Society 1991) and the upper-case spelling some amplifiers
#: write for midline and frontopolar electrodes.
RENAME_10_20_OLD = {
    "T7": "T3",
    "T8": "T4",
    "P7": "T5",
    "P8": "T6",
    "Fp1": "FP1",
    "Fp2": "FP2",
    "Fpz": "FPZ",
    "Fz": "FZ",
    "Cz": "CZ",
    "Pz": "PZ",
}

#: Largest numerator/denominator of the resampling ratio (polyphase filter size).
_MAX_RATIO_TERM = 1000


def _fail(field, expected, found):
    raise ValueError(f"{field}: expected {expected}, got {found!r}")


@dataclass(frozen=True)
class CapPlan:
    """How the training cap becomes the written cap (one dataset).

    Attributes
    ----------
    original_names, original_types : tuple of str
        The training cap (the preset's channels, file order).
    dropped : tuple of str
        Training-cap channels not written.
    rename : dict
        Written name of each kept channel whose name changes (original -> new).
    extra : tuple of (str, str)
        ``(name, BIDS type)`` of channels the training cap does not have.
    order : tuple of str
        Written channel order, as *source* names (training-cap or extra names).
    bad : int or tuple of str
        Number of bad channels drawn per recording, or their training-cap names.
    sfreq_in, sfreq_out : float
        Simulated and written sampling frequencies.
    up, down : int
        Resampling ratio ``sfreq_out / sfreq_in = up / down``.
    shuffled : bool
        Whether ``order`` was permuted.
    """

    original_names: tuple
    original_types: tuple
    dropped: tuple
    rename: dict
    extra: tuple
    order: tuple
    bad: object
    sfreq_in: float
    sfreq_out: float
    up: int = 1
    down: int = 1
    shuffled: bool = False

    @property
    def source_types(self):
        """BIDS type of every source name (training cap and extra)."""
        types = dict(zip(self.original_names, self.original_types, strict=True))
        types.update(dict(self.extra))
        return types

    @property
    def written_names(self):
        """Channel names in file order."""
        return [self.rename.get(n, n) for n in self.order]

    @property
    def written_types(self):
        """Channel types in file order."""
        types = self.source_types
        return [types[n] for n in self.order]

    @property
    def kept_eeg(self):
        """Training-cap EEG channels that are written (candidates for bad ones)."""
        return [
            n
            for n, t in zip(self.original_names, self.original_types, strict=True)
            if t == "EEG" and n not in self.dropped
        ]

    def counts(self):
        """Channel counts per sidecar key type (EEG, ECG, EOG, EMG, MISC)."""
        out = {"EEG": 0, "ECG": 0, "EOG": 0, "EMG": 0, "MISC": 0}
        for t in self.written_types:
            out[t] += 1
        return out

    def to_dict(self):
        """JSON-serialisable description (without the per-recording bad channels)."""
        return {
            "original_channels": list(self.original_names),
            "original_types": list(self.original_types),
            "written_channels": self.written_names,
            "written_types": self.written_types,
            "dropped": list(self.dropped),
            "renamed": dict(self.rename),
            "extra": [{"name": n, "type": t} for n, t in self.extra],
            "permutation": list(self.order),
            "permutation_description": "source channel (training-cap or extra "
            "name, before renaming) of each written channel, in file order",
            "sfreq_original": self.sfreq_in,
            "sfreq_written": self.sfreq_out,
            "resampling": None
            if self.up == self.down
            else {
                "method": "scipy.signal.resample_poly (polyphase FIR, Kaiser window "
                "beta 5, anti-aliasing low-pass at the lower Nyquist frequency)",
                "up": self.up,
                "down": self.down,
            },
        }


def resample_ratio(sfreq_in, sfreq_out):
    """Return ``(up, down)`` with ``sfreq_out / sfreq_in == up / down`` exactly.

    Raises
    ------
    ValueError
        ``sfreq_out`` is below 100 Hz or their ratio needs terms above 1000.
    """
    try:
        ratio = Fraction(str(float(sfreq_out))) / Fraction(str(float(sfreq_in)))
    except (TypeError, ValueError):
        _fail("sfreq", "a sampling frequency in Hz", sfreq_out)
    if not sfreq_out >= 100:
        _fail("sfreq", "a sampling frequency >= 100 Hz", sfreq_out)
    if max(ratio.numerator, ratio.denominator) > _MAX_RATIO_TERM:
        _fail(
            "sfreq",
            f"a rate whose ratio to the simulated {sfreq_in:g} Hz is p/q with p, q <= "
            f"{_MAX_RATIO_TERM}",
            sfreq_out,
        )
    return ratio.numerator, ratio.denominator


def _montage_names():
    return {n.lower(): n for n in montage_positions()}


def _extra_type(name, original_names, montage):
    """BIDS type of an extra channel name, or a one-line ValueError."""
    upper = name.upper()
    if upper in (n.upper() for n in original_names):
        _fail(
            "extra_channels",
            "channels the training cap does not have",
            f"{name} (already in the cap)",
        )
    if "EOG" in upper:  # typed EOG (the validator counts type EOG only)
        return "EOG"
    if "EMG" in upper:
        return "EMG"
    if upper in ("ECG", "EKG"):
        return "ECG"
    if name.lower() in montage:
        return "EEG"
    _fail(
        "extra_channels",
        "EOG/HEOG/VEOG, EMG, ECG or a 10-10 electrode name (easycap-M1) that the "
        "training cap does not have",
        name,
    )
    return None  # unreachable


def _is_count(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _names_list(field, value, allowed, expected):
    """``value`` (a name or a list of names) as distinct names, all in ``allowed``."""
    if isinstance(value, str):
        value = [value]
    try:
        names = list(value)
    except TypeError:
        _fail(field, "an integer or a list of channel names", value)
    if not all(isinstance(n, str) and n for n in names):
        _fail(field, "an integer or a list of channel names", value)
    if len(set(names)) != len(names):
        _fail(field, "distinct channel names", value)
    wrong = [n for n in names if n not in allowed]
    if wrong:
        _fail(field, expected, wrong[0])
    return names


def plan_cap(
    ch_names,
    ch_types,
    *,
    rng,
    drop_channels=0,
    rename=None,
    shuffle_channels=True,
    extra_channels=(),
    bad_channels=0,
    sfreq_in,
    sfreq_out=None,
):
    """Check the cap parameters and draw the dataset's cap changes.

    Parameters
    ----------
    ch_names, ch_types : list of str
        The training cap (file order).
    rng : numpy.random.Generator
        The dataset's cap stream (dropped channels, then the permutation).
    drop_channels : int or list of str
        That many EEG channels dropped (drawn), or their names; never ECG.
    rename : None, "10-20-old" or dict
        New names (see :data:`RENAME_10_20_OLD`); a dict maps training-cap names to
        written ones (renames of dropped channels are ignored).
    shuffle_channels : bool
        Permute the written channel order.
    extra_channels : sequence of str
        Channels the training cap does not have (:func:`extra_channel_data`).
    bad_channels : int or list of str
        Bad EEG channels per recording: how many (drawn per recording) or their
        training-cap names (the same in every recording).
    sfreq_in : float
    sfreq_out : float, optional
        Written sampling frequency (default ``sfreq_in``).

    Returns
    -------
    plan : CapPlan

    Raises
    ------
    ValueError
        A one-line message naming the parameter.
    """
    names, types = list(ch_names), list(ch_types)
    eeg = [n for n, t in zip(names, types, strict=True) if t == "EEG"]
    # -- dropped
    if _is_count(drop_channels):
        if not 0 <= drop_channels < len(eeg):
            _fail(
                "drop_channels",
                f"an integer from 0 to {len(eeg) - 1} (the cap has {len(eeg)} EEG "
                "channels) or a list of EEG channel names",
                drop_channels,
            )
        picks = rng.choice(len(eeg), size=int(drop_channels), replace=False)
        dropped = [eeg[i] for i in sorted(picks)]
    else:
        dropped = _names_list(
            "drop_channels",
            drop_channels,
            eeg,
            "EEG channel names of the training cap (ECG is never dropped)",
        )
        if len(dropped) >= len(eeg):
            _fail("drop_channels", "at least one EEG channel kept", drop_channels)
    kept = [n for n in names if n not in dropped]
    # -- renamed
    if rename is None:
        mapping = {}
    elif isinstance(rename, str):
        if rename != "10-20-old":
            _fail("rename", "None, '10-20-old' or a dict old -> new", rename)
        mapping = dict(RENAME_10_20_OLD)
    elif isinstance(rename, dict):
        mapping = dict(rename)
        wrong = [k for k in mapping if k not in names]
        if wrong:
            _fail("rename", "keys that are channel names of the training cap", wrong[0])
        bad_new = [
            v
            for v in mapping.values()
            if not (isinstance(v, str) and v and "," not in v)
        ]
        if bad_new:
            _fail("rename", "new names as non-empty strings without commas", bad_new[0])
    else:
        _fail("rename", "None, '10-20-old' or a dict old -> new", rename)
    mapping = {k: v for k, v in mapping.items() if k in kept and v != k}
    # -- extra
    if isinstance(extra_channels, str):
        extra_channels = (extra_channels,)
    montage = _montage_names()
    extra = []
    for name in extra_channels:
        if not (isinstance(name, str) and name and "," not in name):
            _fail("extra_channels", "channel names (strings without commas)", name)
        kind = _extra_type(name, names, montage)
        if kind == "EEG":
            name = montage[name.lower()]
        extra.append((name, kind))
    written = [mapping.get(n, n) for n in kept] + [n for n, _ in extra]
    if len({n.upper() for n in written}) != len(written):
        dup = sorted(
            n for n in written if [w.upper() for w in written].count(n.upper()) > 1
        )
        _fail("rename", "written channel names that are unique", dup[0])
    # -- bad
    kept_eeg = [n for n in eeg if n not in dropped]
    if _is_count(bad_channels):
        if not 0 <= bad_channels <= len(kept_eeg):
            _fail(
                "bad_channels",
                f"an integer from 0 to {len(kept_eeg)} (EEG channels kept) or a list "
                "of EEG channel names",
                bad_channels,
            )
        bad = int(bad_channels)
    else:
        bad = tuple(
            _names_list(
                "bad_channels",
                bad_channels,
                kept_eeg,
                "training-cap names of EEG channels that are kept",
            )
        )
    # -- order and rate
    if not isinstance(shuffle_channels, (bool, np.bool_)):
        _fail("shuffle_channels", "True or False", shuffle_channels)
    order = kept + [n for n, _ in extra]
    if shuffle_channels:
        order = [order[i] for i in rng.permutation(len(order))]
    sfreq_out = float(sfreq_in if sfreq_out is None else sfreq_out)
    up, down = resample_ratio(sfreq_in, sfreq_out)
    return CapPlan(
        original_names=tuple(names),
        original_types=tuple(types),
        dropped=tuple(dropped),
        rename=mapping,
        extra=tuple(extra),
        order=tuple(order),
        bad=bad,
        sfreq_in=float(sfreq_in),
        sfreq_out=sfreq_out,
        up=up,
        down=down,
        shuffled=bool(shuffle_channels),
    )


def choose_bad_channels(plan, rng):
    """Training-cap names of the bad channels of one recording, and their kind.

    Returns
    -------
    bad : dict
        ``name -> "noisy" | "flat"``, in training-cap order.
    """
    if isinstance(plan.bad, tuple):
        names = list(plan.bad)
    else:
        kept = plan.kept_eeg
        picks = rng.choice(len(kept), size=plan.bad, replace=False)
        names = [kept[i] for i in sorted(picks)]
    kinds = rng.choice(["noisy", "flat"], size=len(names))
    return {n: str(k) for n, k in zip(names, kinds, strict=True)}


#: ``status_description`` written for each kind of bad channel.
BAD_DESCRIPTIONS = {
    "noisy": "high-amplitude broadband noise (electrode lost contact)",
    "flat": "flat line with slow drift (broken lead or bridged to reference)",
}


def corrupt_channel(n_samples, sfreq, kind, rng):
    """Data (µV) of a bad channel, replacing the recorded one.

    ``"noisy"``: white noise of 150-400 µV SD plus a slow wander of the same size;
    ``"flat"``: a DC offset (±5 mV) plus a slow drift of 20-80 µV and 0.05 µV of
    quantisation-like noise.

    Returns
    -------
    data : ndarray of shape (n_samples,) float32
    """
    drift = _slow_wander(rng, n_samples, sfreq, 20.0)
    if kind == "noisy":
        sd = rng.uniform(150.0, 400.0)
        data = sd * (rng.standard_normal(n_samples) + drift)
    else:
        data = (
            rng.uniform(-5000.0, 5000.0)
            + rng.uniform(20.0, 80.0) * drift
            + 0.05 * rng.standard_normal(n_samples)
        )
    return data.astype(np.float32)


def _slow_wander(rng, n_samples, sfreq, timescale):
    """Gaussian low-passed noise (SD ``timescale`` s), z-scored, (n_samples,).

    Drawn on a grid of ``timescale / 8`` s and interpolated (cheap at 5 kHz).
    """
    step = timescale / 8.0
    n_grid = int(np.ceil(n_samples / sfreq / step)) + 2
    x = ndimage.gaussian_filter1d(rng.standard_normal(n_grid), 8.0, mode="reflect")
    x = (x - x.mean()) / max(x.std(), 1e-12)
    return np.interp(np.arange(n_samples) / sfreq, np.arange(n_grid) * step, x)


def _nearest(names, positions, target, k=1):
    xyz = np.array([positions[n] for n in names])
    d = np.linalg.norm(xyz - target, axis=1)
    idx = np.argsort(d)[:k]
    return idx, d[idx]


def _events_train(rng, n_samples, sfreq, rate_per_min, shape):
    """Sum of ``shape`` waveforms at Poisson times (``shape``: (m,) array)."""
    duration = n_samples / sfreq
    n_events = rng.poisson(rate_per_min * duration / 60.0)
    impulses = np.zeros(n_samples, dtype=np.float32)
    at = rng.integers(0, n_samples, n_events)
    np.add.at(impulses, at, rng.uniform(0.6, 1.4, n_events).astype(np.float32))
    return signal.oaconvolve(impulses, shape.astype(np.float32))[:n_samples]


def extra_channel_data(extra, eeg, eeg_names, sfreq, rng, heart_rate):
    """Plausible data (µV) for channels the training cap does not have.

    Parameters
    ----------
    extra : sequence of (str, str)
        ``(name, type)`` as in :attr:`CapPlan.extra`.
    eeg : ndarray of shape (n_eeg, n_samples)
        The simulated EEG channels (read only).
    eeg_names : list of str
        Their names (easycap-M1 positions).
    sfreq : float
    rng : numpy.random.Generator
        The recording's extra-channel stream.
    heart_rate : float
        Beats per minute (for an extra ECG).

    Returns
    -------
    data : ndarray of shape (len(extra), n_samples) float32

    Notes
    -----
    - ``EEG`` (a 10-10 electrode): inverse-squared-distance average of the four
      nearest simulated electrodes plus 2 µV of independent 1/f noise.
    - ``EOG`` (``EOG``, ``VEOG``...): the frontopolar EEG plus blinks (15 per
      minute, about 150 µV, 0.3 s; resting blink rate about 17/min, Bentivoglio et
      al. 1997).
    - ``EOG`` named ``H...`` (``HEOG``): the F7 - F8 difference plus saccades
      (steps of about ±55 µV, 20 per minute, returning after about 1 s).
    - ``EMG``: 20-250 Hz noise (below Nyquist) of about 5 µV with slow bursts.
    - ``ECG``: heartbeats at ``heart_rate`` (R peak 800 µV) over 20 µV of 1/f noise.
    """
    pos = montage_positions()
    names = list(eeg_names)
    n_samples = eeg.shape[1]
    out = np.zeros((len(extra), n_samples), dtype=np.float32)
    for row, (name, kind) in enumerate(extra):
        if kind == "EEG":
            idx, d = _nearest(names, pos, pos[name], k=min(4, len(names)))
            w = 1.0 / np.maximum(d, 1e-3) ** 2
            w /= w.sum()
            out[row] = (w.astype(np.float32) @ eeg[idx]).astype(np.float32)
            out[row] += 2.0 * pink_noise(rng, 1, n_samples, sfreq)[0]
        elif kind == "EOG" and not name.upper().startswith("H"):
            idx, _ = _nearest(names, pos, (pos["Fp1"] + pos["Fp2"]) / 2)
            tk = np.arange(0, 0.6, 1 / sfreq)
            blink = 150.0 * np.exp(-0.5 * ((tk - 0.15) / 0.06) ** 2)
            out[row] = eeg[idx[0]] + _events_train(rng, n_samples, sfreq, 15.0, blink)
        elif kind == "EOG":  # horizontal: HEOG, HEOGL...
            left, _ = _nearest(names, pos, pos["F7"])
            right, _ = _nearest(names, pos, pos["F8"])
            tk = np.arange(0, 1.2, 1 / sfreq)
            step = np.clip(tk / 0.04, 0, 1) * np.clip((1.1 - tk) / 0.05, 0, 1)
            sacc = _events_train(rng, n_samples, sfreq, 20.0, 55.0 * step)
            sign = np.where(_slow_wander(rng, n_samples, sfreq, 1.0) > 0, 1.0, -1.0)
            out[row] = eeg[left[0]] - eeg[right[0]] + sign * sacc
        elif kind == "EMG":
            hi = min(250.0, 0.45 * sfreq)
            sos = signal.butter(4, [20.0, hi], btype="bandpass", fs=sfreq, output="sos")
            x = signal.sosfilt(sos, rng.standard_normal(n_samples))
            x *= np.exp(0.7 * _slow_wander(rng, n_samples, sfreq, 2.0))
            out[row] = 5.0 * x / max(x.std(), 1e-12)
        else:  # ECG
            wave, offset = ecg_waveform(sfreq)
            ecg = 20.0 * pink_noise(rng, 1, n_samples, sfreq)[0]
            for s in np.round(heartbeats(rng, n_samples / sfreq, heart_rate) * sfreq):
                lo = int(s) - offset
                a, b = max(lo, 0), min(lo + wave.size, n_samples)
                if b > a:
                    ecg[a:b] += wave[a - lo : b - lo]
            out[row] = ecg
    return out


def resample_and_crop(data, start, up, down, chunk=16):
    """Crop at sample ``start`` and resample by ``up / down`` (anti-aliased).

    The signal is resampled from the latest sample ``s0 <= start`` with
    ``start - s0`` a multiple of ``down`` (the EEG before ``start`` absorbs the
    filter's edge transient), then cropped at ``(start - s0) * up / down``, so that
    the written sample 0 is exactly the original sample ``start``.

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_samples)
    start : int
        First original sample kept.
    up, down : int
    chunk : int
        Channels resampled at a time (bounds the float64 temporaries).

    Returns
    -------
    out : ndarray of shape (n_channels, m) float32
    """
    if up == down:
        return np.ascontiguousarray(data[:, start:], dtype=np.float32)
    s0 = start % down
    crop = (start - s0) // down * up
    n_in = data.shape[1] - s0
    n_out = -(-n_in * up // down)
    out = np.empty((data.shape[0], n_out - crop), dtype=np.float32)
    for lo in range(0, data.shape[0], chunk):
        hi = min(lo + chunk, data.shape[0])
        y = signal.resample_poly(
            data[lo:hi, s0:].astype(np.float64), up, down, axis=1, padtype="line"
        )
        out[lo:hi] = y[:, crop : crop + out.shape[1]]
    return out
