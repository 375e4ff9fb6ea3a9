"""The generative model: anatomy, networks, HRF, neural drives, EEG and BOLD signals.

Ground truth, in words:

- **Anatomy**: nilearn's bundled MNI152 (ICBM 2009a, 1 mm) T1 and grey/white-matter
  probability maps, box-averaged to the EPI voxel size and resampled to a grid of
  ``(D, H, W)`` voxels whose affine is in MNI millimetres (RAS, voxel size chosen so
  that the whole brain fits). EPI baseline = ``S0 * (0.8 GM + 0.6 WM + 1.0 CSF)``.
- **Networks** (:data:`NETWORKS`): each has a smooth spatial map (Gaussian blobs at
  MNI centres, weighted by grey matter, max 1) and an EEG signature: a scalp
  topography over the easycap-M1 10-10 montage, a frequency band and a sign.
- **Drives**: one slow neural drive per network (Gaussian low-passed white noise,
  z-scored; plus 1 s boxcars after oddball stimuli, weighted per network).
- **BOLD** = ``baseline * (1 + bold_amplitude * sum_k map_k * (HRF * drive_k)(t_slice)
  + drift(t)) + thermal noise``, sampled at each slice's acquisition time
  (``SliceTiming``), magnitude taken, stored as int16.
- **EEG** (µV) = sum_k topography_k x band-limited noise_k x envelope_k(t) + ERPs +
  spatially smooth 1/f background + line noise (+ ECG channel). The envelope is
  ``exp(depth * sign_k * c_k(t))`` with ``c_k = coupling * drive_k +
  sqrt(1 - coupling**2) * independent_k``.

Every array that has a time axis is float32 except short per-volume tables.
"""

import functools
import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage, signal, stats

from .._utils.logging import logger
from . import scanner

__all__ = [
    "NETWORKS",
    "EEG_CHANNELS",
    "NetworkSpec",
    "Anatomy",
    "SimulatedRun",
    "GenerativeModel",
    "canonical_hrf",
    "load_anatomy",
]

#: 63 EEG electrodes in BrainCap-MR order (the ECG channel comes after the 31st).
EEG_CHANNELS = (
    "Fp1 Fp2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T7 T8 P7 P8 Fz Cz Pz Oz FC1 FC2 CP1 CP2 "
    "FC5 FC6 CP5 CP6 TP9 TP10 POz F1 F2 C1 C2 P1 P2 AF3 AF4 FC3 FC4 CP3 CP4 PO3 PO4 "
    "F5 F6 C5 C6 P5 P6 AF7 AF8 FT7 FT8 TP7 TP8 PO7 PO8 FT9 FT10 Fpz CPz"
).split()
_ECG_INDEX = 31

#: Drive grid step (s) and HRF warm-up before the first EEG sample (s).
_DT = 0.1
_WARMUP = 40.0


@dataclass(frozen=True)
class NetworkSpec:
    """One simulated network.

    Parameters
    ----------
    name : str
        Column name in the drives table.
    mni_centers : tuple of (x, y, z)
        Blob centres of the BOLD map in MNI mm.
    band : (float, float)
        EEG frequency band in Hz.
    sign : int
        +1: rhythm amplitude rises with the drive; -1: it falls (alpha blocking).
    eeg_centers : tuple of str
        Electrodes under which the rhythm's topography peaks.
    amplitude : float
        Rhythm amplitude (µV RMS at the topography peak).
    event_weights : dict
        Drive added for 1 s after each stimulus, per stimulus kind.
    """

    name: str
    mni_centers: tuple
    band: tuple
    sign: int
    eeg_centers: tuple
    amplitude: float
    event_weights: dict = field(default_factory=dict)

    def to_dict(self):
        """Return a JSON-serialisable description."""
        return {
            "name": self.name,
            "band_hz": list(self.band),
            "sign": self.sign,
            "eeg_centers": list(self.eeg_centers),
            "amplitude_uv": self.amplitude,
            "mni_centers_mm": [list(c) for c in self.mni_centers],
            "event_weights": dict(self.event_weights),
        }


#: Library of networks; a dataset with ``n_networks = K`` uses the first K.
NETWORKS = (
    NetworkSpec(
        "visual",
        ((-10, -90, 4), (10, -90, 4), (0, -78, 10)),
        (8.0, 12.0),
        -1,
        ("O1", "Oz", "O2"),
        12.0,
    ),
    NetworkSpec(
        "motor", ((-38, -22, 56), (38, -22, 56)), (15.0, 25.0), -1, ("C3", "C4"), 4.0
    ),
    NetworkSpec(
        "default_mode",
        ((0, -54, 28), (0, 50, -4), (-46, -66, 32), (46, -66, 32)),
        (4.0, 7.0),
        -1,
        ("Fz", "FCz"),
        5.0,
        {"target": -1.0},
    ),
    NetworkSpec(
        "frontal",
        ((-42, 30, 30), (42, 30, 30)),
        (30.0, 45.0),
        1,
        ("AF3", "AF4", "F3", "F4"),
        2.0,
        {"target": 2.0, "standard": 0.3},
    ),
    NetworkSpec(
        "auditory",
        ((-54, -20, 8), (54, -20, 8)),
        (12.0, 15.0),
        -1,
        ("T7", "T8", "FC5", "FC6"),
        3.0,
        {"target": 1.0, "standard": 0.5},
    ),
    NetworkSpec(
        "dorsal_attention",
        ((-26, -60, 52), (26, -60, 52)),
        (25.0, 30.0),
        1,
        ("P3", "P4", "PO3", "PO4"),
        2.0,
        {"target": 1.0},
    ),
)

#: ERPs of the oddball paradigm: (stimulus kinds, electrodes, µV, latency s, width s).
_ERPS = (
    (("standard", "target"), ("Cz", "FCz"), -5.0, 0.10, 0.025),
    (("target",), ("Pz", "CPz"), 10.0, 0.35, 0.07),
)


def canonical_hrf(dt, duration=32.0):
    """Canonical double-gamma haemodynamic response function (SPM defaults).

    ``h(t) = g(t; 6) - g(t; 16) / 6`` with ``g(t; a)`` the gamma density of shape
    ``a`` and scale 1 s (peak near 5 s, undershoot near 15 s), normalized to unit sum
    so that a constant drive of 1 gives a response of 1.

    Parameters
    ----------
    dt : float
        Sampling step in seconds.
    duration : float, default=32.0
        Kernel length in seconds.

    Returns
    -------
    hrf : ndarray of shape (round(duration / dt),)
        Kernel sampled at ``0, dt, 2 dt, ...``.
    """
    t = np.arange(int(round(duration / dt))) * dt
    h = stats.gamma.pdf(t, 6.0) - stats.gamma.pdf(t, 16.0) / 6.0
    return h / h.sum()


# ----------------------------------------------------------------------------- anatomy


@dataclass(frozen=True)
class Anatomy:
    """Anatomy on the EPI grid, arrays of shape (D, H, W) float32.

    Attributes
    ----------
    affine : ndarray of shape (4, 4)
        Voxel (i, j, k) -> MNI mm; i along H, j along W, k along D.
    gm, wm, csf : ndarray of shape (D, H, W)
        Tissue fractions in [0, 1].
    mni : ndarray of shape (D, H, W, 3)
        MNI coordinates of each voxel centre.
    """

    affine: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    mni: np.ndarray

    @property
    def contrast(self):
        """EPI (T2*) contrast per voxel, (D, H, W) float32, about 0.6 to 1."""
        return (0.8 * self.gm + 0.6 * self.wm + 1.0 * self.csf).astype(np.float32)


def _template_dir():
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the simulator needs nilearn (its bundled MNI152 templates)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


@functools.lru_cache(maxsize=1)
def _load_templates():
    """MNI152 2009a T1, GM, WM at 1 mm as (3, X, Y, Z) float32 in [0, 1] + affine."""
    import nibabel as nib

    folder = _template_dir()
    arrays, affine = [], None
    for kind in ("t1", "gm", "wm"):
        img = nib.load(folder / f"mni_icbm152_{kind}_tal_nlin_sym_09a_converted.nii.gz")
        arrays.append(np.asarray(img.dataobj, dtype=np.float32) / 255.0)
        affine = img.affine
    return np.stack(arrays), affine


@functools.lru_cache(maxsize=8)
def load_anatomy(bold_shape):
    """Resample the MNI152 template to an EPI grid of ``bold_shape`` voxels.

    Parameters
    ----------
    bold_shape : tuple of int
        ``(D, H, W)``: slices (NIfTI k, inferior to superior), then i (left to
        right) and j (posterior to anterior).

    Returns
    -------
    anatomy : Anatomy
        Cached per shape (treat its arrays as read-only).
    """
    n_k, n_i, n_j = (int(s) for s in bold_shape)
    tpl, tpl_affine = _load_templates()
    brain = tpl[0] > 0.2
    idx = np.argwhere(brain)
    lo_mm = tpl_affine[:3, :3] @ idx.min(0) + tpl_affine[:3, 3]
    hi_mm = tpl_affine[:3, :3] @ idx.max(0) + tpl_affine[:3, 3]
    extent, center = hi_mm - lo_mm, (hi_mm + lo_mm) / 2
    inplane = max(extent[0] * 1.08 / n_i, extent[1] * 1.08 / n_j)
    zooms = np.array([inplane, inplane, extent[2] * 1.06 / n_k])
    shape_ijk = np.array([n_i, n_j, n_k])
    affine = np.eye(4)
    affine[:3, :3] = np.diag(zooms)
    affine[:3, 3] = center - zooms * (shape_ijk - 1) / 2

    # partial-volume average over one EPI voxel, then trilinear interpolation
    box = tuple(max(1, int(round(z))) for z in zooms)
    smooth = ndimage.uniform_filter(
        np.concatenate([brain[None].astype(np.float32), tpl[1:]]), size=(1, *box)
    )
    ii, jj, kk = np.meshgrid(
        np.arange(n_i), np.arange(n_j), np.arange(n_k), indexing="ij"
    )
    vox = np.stack([ii, jj, kk, np.ones_like(ii)], axis=-1).reshape(-1, 4).T
    mni = (affine @ vox)[:3]
    tpl_idx = np.linalg.solve(tpl_affine, np.vstack([mni, np.ones(mni.shape[1])]))[:3]
    sampled = [
        ndimage.map_coordinates(vol, tpl_idx, order=1, mode="constant", cval=0.0)
        for vol in smooth
    ]

    def to_dhw(a):  # (i, j, k) flattened -> (k, i, j)
        return np.ascontiguousarray(
            a.reshape(n_i, n_j, n_k).transpose(2, 0, 1), dtype=np.float32
        )

    mask, gm, wm = (to_dhw(np.clip(a, 0, 1)) for a in sampled)
    csf = np.clip(mask - gm - wm, 0.0, 1.0)
    mni_dhw = mni.T.reshape(n_i, n_j, n_k, 3).transpose(2, 0, 1, 3).astype(np.float32)
    for a in (gm, wm, csf, mni_dhw):
        a.setflags(write=False)
    return Anatomy(affine=affine, gm=gm, wm=wm, csf=csf, mni=mni_dhw)


def network_maps(anatomy, networks):
    """Spatial BOLD maps of the networks.

    Parameters
    ----------
    anatomy : Anatomy
    networks : sequence of NetworkSpec

    Returns
    -------
    maps : ndarray of shape (K, D, H, W) float32
        Sum of Gaussian blobs (sd max(8 mm, 0.75 voxel)) times the grey-matter
        fraction, scaled to a maximum of 1; values below 0.01 set to 0.
    """
    zooms = np.sqrt((anatomy.affine[:3, :3] ** 2).sum(0))
    sd = max(8.0, 0.75 * zooms.max())
    maps = np.zeros((len(networks), *anatomy.gm.shape), dtype=np.float32)
    for k, net in enumerate(networks):
        for c in net.mni_centers:
            d2 = ((anatomy.mni - np.asarray(c, dtype=np.float32)) ** 2).sum(-1)
            maps[k] += np.exp(-d2 / (2 * sd**2))
        maps[k] *= anatomy.gm
        maps[k] /= max(maps[k].max(), 1e-6)
    maps[maps < 0.01] = 0.0  # cut the Gaussian tails: sparse maps, fast BOLD synthesis
    return maps


# ------------------------------------------------------------------------- EEG layout


@functools.lru_cache(maxsize=1)
def _montage_positions():
    import mne

    montage = mne.channels.make_standard_montage("easycap-M1")
    return {
        k: np.asarray(v, dtype=float)
        for k, v in montage.get_positions()["ch_pos"].items()
    }


def channel_layout(n_channels, has_ecg):
    """Channel names and types in file order.

    Parameters
    ----------
    n_channels : int
        Total number of channels, ECG included when ``has_ecg``.
    has_ecg : bool

    Returns
    -------
    names : list of str
    types : list of str
        ``"EEG"`` or ``"ECG"`` (BIDS channels.tsv types).
    """
    n_eeg = n_channels - int(has_ecg)
    names = list(EEG_CHANNELS[:n_eeg])
    types = ["EEG"] * n_eeg
    if has_ecg:
        pos = min(_ECG_INDEX, n_eeg)
        names.insert(pos, "ECG")
        types.insert(pos, "ECG")
    return names, types


def _topography(eeg_names, centers, sd=0.035):
    """Sum of Gaussians (sd in m) around the center electrodes, max 1, (n_eeg,)."""
    pos = _montage_positions()
    xyz = np.array([pos[n] for n in eeg_names])
    topo = np.zeros(len(eeg_names))
    for c in centers:
        topo += np.exp(-((xyz - pos[c]) ** 2).sum(1) / (2 * sd**2))
    return (topo / topo.max()).astype(np.float32)


def _spatial_mixing(eeg_names, sd=0.03):
    """Row-normalised Gaussian mixing over electrode distance, (n_eeg, n_eeg)."""
    pos = _montage_positions()
    xyz = np.array([pos[n] for n in eeg_names])
    m = np.exp(-((xyz[:, None] - xyz[None]) ** 2).sum(-1) / (2 * sd**2))
    return (m / np.sqrt((m**2).sum(1, keepdims=True))).astype(np.float32)


# --------------------------------------------------------------------------- signals


def _smooth_noise(rng, shape, dt, timescale):
    """Gaussian low-passed white noise along the last axis, z-scored, float64."""
    n = shape[-1]
    n_fft = sp_fft.next_fast_len(n, real=True)
    spec = sp_fft.rfft(rng.standard_normal((*shape[:-1], n_fft)), axis=-1)
    f = sp_fft.rfftfreq(n_fft, dt)
    spec *= np.exp(-0.5 * (f * timescale) ** 2)
    spec[..., 0] = 0
    x = sp_fft.irfft(spec, n_fft, axis=-1)[..., :n]
    return (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)


def _band_noise(rng, n, sfreq, band, taper=1.0):
    """Unit-variance noise band-limited to ``band`` Hz (cosine edges), (n,) float32."""
    n_fft = sp_fft.next_fast_len(n, real=True)
    spec = sp_fft.rfft(rng.standard_normal(n_fft, dtype=np.float32))
    f = sp_fft.rfftfreq(n_fft, 1 / sfreq)
    lo, hi = band
    gain = np.clip(np.minimum((f - lo + taper) / taper, (hi + taper - f) / taper), 0, 1)
    spec *= (0.5 - 0.5 * np.cos(np.pi * gain)).astype(np.float32)
    x = sp_fft.irfft(spec, n_fft)[:n]
    return (x / x.std()).astype(np.float32)


def _pink_noise(rng, n_rows, n, sfreq):
    """1/f (power) noise with unit variance per row, (n_rows, n) float32."""
    n_fft = sp_fft.next_fast_len(n, real=True)
    f = sp_fft.rfftfreq(n_fft, 1 / sfreq)
    gain = (1.0 / np.sqrt(np.maximum(f, 1.0)) + 0.03).astype(np.float32)
    gain[0] = 0
    out = np.empty((n_rows, n), dtype=np.float32)
    for start in range(0, n_rows, 16):  # chunks bound the complex temporary
        stop = min(start + 16, n_rows)
        spec = sp_fft.rfft(
            rng.standard_normal((stop - start, n_fft), dtype=np.float32), axis=-1
        )
        spec *= gain
        x = sp_fft.irfft(spec, n_fft, axis=-1)[:, :n]
        out[start:stop] = x / x.std(axis=1, keepdims=True)
    return out


def _ecg_waveform(sfreq):
    """One heartbeat (P, Q, R, S, T Gaussians), R peak at index ``offset``; µV."""
    t = np.arange(-0.3, 0.5, 1 / sfreq)
    waves = (
        (0.15, -0.16, 0.025),
        (-0.12, -0.03, 0.008),
        (1.0, 0.0, 0.01),
        (-0.25, 0.03, 0.01),
        (0.3, 0.25, 0.05),
    )
    w = sum(a * np.exp(-0.5 * ((t - mu) / sd) ** 2) for a, mu, sd in waves)
    return (800.0 * w).astype(np.float32), int(round(0.3 * sfreq))


def _heartbeats(rng, duration, heart_rate):
    """R-peak times in seconds with respiratory sinus arrhythmia and jitter."""
    rr_mean = 60.0 / heart_rate
    t = rng.uniform(0, rr_mean)
    peaks = []
    while t < duration:
        peaks.append(t)
        rr = rr_mean * (
            1 + 0.04 * np.sin(2 * np.pi * 0.25 * t) + 0.02 * rng.standard_normal()
        )
        t += max(rr, 0.3)
    return np.asarray(peaks)


def _oddball_events(rng, start, stop, isi, target_fraction):
    """Stimulus onsets (s) and kinds between ``start`` and ``stop``."""
    onsets, t = [], start
    while t < stop:
        onsets.append(t)
        t += isi * rng.uniform(0.8, 1.2)
    onsets = np.asarray(onsets)
    is_target = rng.random(len(onsets)) < target_fraction
    kinds = np.where(is_target, "target", "standard")
    return onsets, kinds


def slice_timing(n_slices, tr, order="interleaved"):
    """Acquisition time (s from the volume onset) of each slice, (n_slices,) float64.

    ``"interleaved"`` acquires slices 0, 2, 4, ... then 1, 3, 5, ... (0-based),
    ``"ascending"`` 0, 1, 2, ...
    """
    if order == "interleaved":
        acq_order = np.r_[np.arange(0, n_slices, 2), np.arange(1, n_slices, 2)]
    else:
        acq_order = np.arange(n_slices)
    times = np.empty(n_slices)
    times[acq_order] = np.arange(n_slices) * tr / n_slices
    return times


# ----------------------------------------------------------------------------- model


def _lap(clock, stage):
    """Log the seconds spent in ``stage`` (debug level) and return a new clock."""
    now = time.perf_counter()
    logger.debug("simulate: %s %.3f s", stage, now - clock)
    return now


@dataclass
class SimulatedRun:
    """One simulated EEG-fMRI run held in memory.

    Attributes
    ----------
    eeg : ndarray of shape (n_channels, n_samples) float32
        EEG (and ECG) in µV.
    ch_names, ch_types : list of str
    sfreq : float
    markers : list of (str, str, int)
        BrainVision markers ``(type, description, 0-based sample)``, sorted.
    events : pandas.DataFrame or None
        Stimuli: onset (s from the first EEG sample), duration, trial_type, value,
        sample. None for rest.
    bold : ndarray of shape (n_volumes, D, H, W) int16
        Measured BOLD (magnitude, rounded).
    noiseless : ndarray of shape (n_volumes, D, H, W) float32
        BOLD without thermal noise.
    drives : pandas.DataFrame
        Per volume: mean drive of each network over the volume's TR window, its
        HRF-convolved value at mid-volume (``<name>_hrf``), and ``drift``.
    volume_onsets : ndarray of shape (n_volumes,) float64
        True volume onsets in seconds from the first EEG sample.
    truth : dict
        JSON-serialisable ground truth (see :func:`GenerativeModel.simulate_run`).
    clean_eeg : ndarray of shape (n_channels, n_samples) float32 or None
        EEG without the scanner artifacts, when the preset adds them (else None).
    """

    eeg: np.ndarray
    ch_names: list
    ch_types: list
    sfreq: float
    markers: list
    events: object
    bold: np.ndarray
    noiseless: np.ndarray
    drives: object
    volume_onsets: np.ndarray
    truth: dict
    clean_eeg: np.ndarray | None = None


class GenerativeModel:
    """Everything shared by the runs of one dataset: anatomy, maps, topographies.

    Parameters
    ----------
    preset : SimulationPreset
        A checked preset (see :func:`~eeg2fmri.simulate.presets.resolve_preset`).

    Attributes
    ----------
    anatomy : Anatomy
    networks : tuple of NetworkSpec
    maps : ndarray of shape (K, D, H, W) float32
    ch_names, ch_types : list of str
    topographies : ndarray of shape (n_eeg, K) float32
    slice_times : ndarray of shape (D,)
    """

    def __init__(self, preset):
        self.preset = p = preset
        self.anatomy = load_anatomy(tuple(p.bold_shape))
        self.networks = NETWORKS[: p.n_networks]
        self.maps = network_maps(self.anatomy, self.networks)
        self.ch_names, self.ch_types = channel_layout(p.n_channels, p.has_ecg)
        self.eeg_names = [
            n for n, t in zip(self.ch_names, self.ch_types, strict=True) if t == "EEG"
        ]
        self.topographies = np.stack(
            [_topography(self.eeg_names, net.eeg_centers) for net in self.networks],
            axis=1,
        )
        self.erp_topographies = [_topography(self.eeg_names, e[1]) for e in _ERPS]
        self.mixing = _spatial_mixing(self.eeg_names)
        self.slice_times = slice_timing(p.bold_shape[0], p.tr, p.slice_order)
        self.hrf = canonical_hrf(_DT)

    # -- timing --------------------------------------------------------------------
    def timing(self, n_volumes):
        """Sample count, first-volume sample and true onsets (s) of a run."""
        p = self.preset
        first = int(round(p.eeg_lead * p.sfreq))
        onsets = first / p.sfreq + np.arange(n_volumes) * p.tr
        n_samples = int(np.ceil((onsets[-1] + p.tr + p.eeg_tail) * p.sfreq))
        return n_samples, first, onsets

    def simulate_run(self, seed_sequence, n_volumes, subject):
        """Simulate one run.

        Parameters
        ----------
        seed_sequence : numpy.random.SeedSequence
            Seeds every random draw of the run.
        n_volumes : int
        subject : dict
            Subject-level parameters: ``heart_rate`` (bpm), ``s0`` (baseline
            intensity), ``eeg_gain``.

        Returns
        -------
        run : SimulatedRun
        """
        import pandas as pd

        p = self.preset
        rng = np.random.default_rng(seed_sequence)
        sfreq = p.sfreq
        n_samples, first, onsets = self.timing(n_volumes)
        duration = n_samples / sfreq
        n_net = len(self.networks)
        clock = time.perf_counter()

        # ---- neural drives on a 0.1 s grid, with HRF warm-up ---------------------
        t_grid = np.arange(-_WARMUP, duration + 1.0, _DT)
        drives = _smooth_noise(rng, (n_net, t_grid.size), _DT, p.drive_timescale)
        independent = _smooth_noise(rng, (n_net, t_grid.size), _DT, p.drive_timescale)
        events = None
        if p.paradigm == "oddball":
            ev_on, ev_kind = _oddball_events(
                rng,
                onsets[0] + 1.0,
                onsets[-1] + p.tr - 1.0,
                p.event_isi,
                p.target_fraction,
            )
            for k, net in enumerate(self.networks):
                for kind, weight in net.event_weights.items():
                    for t0 in ev_on[ev_kind == kind]:
                        drives[k, (t_grid >= t0) & (t_grid < t0 + 1.0)] += weight
            ev_samples = np.round(ev_on * sfreq).astype(int)
            events = pd.DataFrame(
                {
                    "onset": np.round(ev_samples / sfreq, 6),
                    "duration": 0.0,
                    "trial_type": ev_kind,
                    "value": np.where(ev_kind == "target", 2, 1),
                    "sample": ev_samples,
                }
            )

        clock = _lap(clock, "drives")
        # ---- BOLD ------------------------------------------------------------------
        bold_signal = np.stack(
            [signal.fftconvolve(d, self.hrf)[: t_grid.size] for d in drives]
        )  # (K, n_grid)
        acq = onsets[:, None] + self.slice_times[None, :]  # (T, D)
        per_slice = np.stack(
            [np.interp(acq, t_grid, s) for s in bold_signal], axis=-1
        ).astype(np.float32)  # (T, D, K)
        rel = (onsets - onsets[0]) / max(onsets[-1] - onsets[0] + p.tr, 1e-9)
        drift_coef = rng.normal(0, p.drift_amplitude, 3) / np.arange(1, 4)
        drift = (
            (drift_coef[None] * np.cos(np.pi * np.arange(1, 4)[None] * rel[:, None]))
            .sum(1)
            .astype(np.float32)
        )

        baseline = (subject["s0"] * self.anatomy.contrast).astype(
            np.float32
        )  # (D, H, W)
        gm_mean = (
            float(baseline[self.anatomy.gm > 0.5].mean())
            if (self.anatomy.gm > 0.5).any()
            else float(baseline.max())
        )
        noise_sd = np.float32(p.bold_noise * gm_mean)
        n_d, n_h, n_w = p.bold_shape
        # per-voxel signal gain: amplitude x map x baseline, (K, D, H*W)
        gains = (self.maps * baseline[None] * np.float32(p.bold_amplitude)).reshape(
            n_net, n_d, n_h * n_w
        )
        noiseless = np.empty((n_volumes, n_d, n_h, n_w), dtype=np.float32)
        bold = np.empty((n_volumes, n_d, n_h, n_w), dtype=np.int16)
        structured = None
        if p.has_structured_noise:  # own random stream: the main one is unchanged
            rng_bold = scanner.realism_rng(seed_sequence, "bold")
            phases = scanner.physio_phases(
                rng_bold, duration + p.tr, subject["heart_rate"]
            )
            pulsatile = (self.anatomy.csf + 0.3 * self.anatomy.gm).reshape(n_d, -1)
            structured = dict(
                gm_mean=gm_mean,
                ar_noise=p.bold_ar_noise,
                ar_coef=p.bold_ar_coef,
                cardiac_noise=p.cardiac_noise,
                respiratory_noise=p.respiratory_noise,
                voxel_drift=p.voxel_drift,
                phases=phases,
            )
        for z in range(n_d):
            change = np.multiply(1.0 + drift[:, None], baseline[z].reshape(1, -1))
            for k in range(n_net):  # K broadcasts beat a (T, K) @ (K, H*W) product
                nz = np.flatnonzero(gains[k, z])
                if nz.size:
                    change[:, nz] += per_slice[:, z, k, None] * gains[k, z, nz][None]
            noiseless[:, z] = change.reshape(n_volumes, n_h, n_w)
            noisy = rng.standard_normal(change.shape, dtype=np.float32)
            noisy *= noise_sd
            noisy += change
            if structured is not None:
                noisy += scanner.structured_bold_noise(
                    rng_bold,
                    acq[:, z],
                    baseline[z].reshape(-1),
                    pulsatile[z],
                    **structured,
                )
            np.abs(noisy, out=noisy)
            np.clip(noisy, 0, 32767, out=noisy)
            bold[:, z] = np.rint(noisy).reshape(n_volumes, n_h, n_w)

        clock = _lap(clock, "bold")
        # ---- EEG ---------------------------------------------------------------------
        t_eeg = np.arange(n_samples) / sfreq
        gain = np.float32(subject["eeg_gain"])
        c = p.coupling * drives + np.sqrt(1 - p.coupling**2) * independent
        sources = np.empty((n_net, n_samples), dtype=np.float32)
        for k, net in enumerate(self.networks):
            env = np.exp(
                p.modulation_depth * net.sign * np.interp(t_eeg, t_grid, c[k])
                - 0.5 * p.modulation_depth**2
            ).astype(np.float32)
            sources[k] = _band_noise(rng, n_samples, sfreq, net.band)
            sources[k] *= env * np.float32(net.amplitude) * gain
        eeg_only = self.topographies @ sources  # (n_eeg, N)
        del sources
        n_eeg = len(self.eeg_names)
        background = _pink_noise(rng, n_eeg, n_samples, sfreq)
        eeg_only += np.float32(10.0 * p.eeg_noise) * (self.mixing @ background)
        del background
        if events is not None:
            for (kinds, _, amp, lat, width), topo in zip(
                _ERPS, self.erp_topographies, strict=True
            ):
                impulses = np.zeros(n_samples, dtype=np.float32)
                sel = np.isin(events["trial_type"].to_numpy(), kinds)
                np.add.at(impulses, events["sample"].to_numpy()[sel], 1.0)
                tk = np.arange(0, lat + 4 * width, 1 / sfreq)
                wave = (amp * np.exp(-0.5 * ((tk - lat) / width) ** 2)).astype(
                    np.float32
                )
                erp = signal.oaconvolve(impulses, wave)[:n_samples].astype(np.float32)
                eeg_only += topo[:, None] * erp[None]
        line = self._line_noise(rng, n_eeg, t_eeg)
        if line is not None:
            eeg_only += line

        eeg = np.empty((len(self.ch_names), n_samples), dtype=np.float32)
        eeg_rows = [i for i, t in enumerate(self.ch_types) if t == "EEG"]
        eeg[eeg_rows] = eeg_only
        del eeg_only
        peaks = _heartbeats(rng, duration, subject["heart_rate"])
        peak_samples = np.round(peaks * sfreq).astype(int)
        peak_samples = peak_samples[peak_samples < n_samples]
        if p.has_ecg:
            wave, offset = _ecg_waveform(sfreq)
            ecg = 20.0 * _pink_noise(rng, 1, n_samples, sfreq)[0]
            for s in peak_samples:
                lo, hi = s - offset, s - offset + wave.size
                a, b = max(lo, 0), min(hi, n_samples)
                ecg[a:b] += wave[a - lo : b - lo]
            line = self._line_noise(rng, 1, t_eeg)
            if line is not None:
                ecg += line[0]
            eeg[self.ch_types.index("ECG")] = ecg

        clean_eeg, artifacts = None, {}
        if p.has_artifacts:  # own random streams: the clean EEG is unchanged
            clean_eeg = eeg.copy()
            if p.pulse_artifact > 0:
                artifacts["pulse"] = scanner.add_pulse_artifact(
                    eeg,
                    scanner.realism_rng(seed_sequence, "pulse"),
                    sfreq=sfreq,
                    eeg_rows=eeg_rows,
                    mixing=self.mixing,
                    peak_samples=peak_samples,
                    amplitude=p.pulse_artifact,
                )
                artifacts["heartbeat_samples"] = peak_samples.tolist()
            if p.gradient_artifact > 0:
                artifacts["gradient"] = scanner.add_gradient_artifact(
                    eeg,
                    scanner.realism_rng(seed_sequence, "gradient"),
                    sfreq=sfreq,
                    ch_names=self.ch_names,
                    volume_onsets=onsets,
                    tr=p.tr,
                    n_slices=n_d,
                    amplitude=p.gradient_artifact,
                    jitter=p.gradient_jitter,
                )
        clock = _lap(clock, "eeg")
        # ---- markers ---------------------------------------------------------------
        trig_type, _, trig_desc = p.trigger.partition("/")
        vol_samples = np.round(onsets * sfreq).astype(int)
        markers = [(trig_type, trig_desc, int(s)) for s in vol_samples]
        if p.slice_markers:
            steps = np.round(np.arange(n_d) * p.tr / n_d * sfreq).astype(int)
            markers += [
                ("Scanner", "s", int(s + d)) for s in vol_samples for d in steps
            ]
        if p.pulse_markers:
            markers += [("Pulse Artifact", "R", int(s)) for s in peak_samples]
        if events is not None:
            markers += [
                ("Stimulus", f"S{v:>3}", int(s))
                for v, s in zip(events["value"], events["sample"], strict=True)
            ]
        order = {trig_type: 0, "Scanner": 1}
        markers.sort(key=lambda m: (m[2], order.get(m[0], 2)))

        clock = _lap(clock, "markers")
        # ---- per-volume truth table --------------------------------------------------
        table = {}
        win = (t_grid[None] >= onsets[:, None]) & (
            t_grid[None] < onsets[:, None] + p.tr
        )
        counts = np.maximum(win.sum(1), 1)
        mid = onsets + p.tr / 2
        for k, net in enumerate(self.networks):
            table[net.name] = (win @ drives[k]) / counts
        for k, net in enumerate(self.networks):
            table[f"{net.name}_hrf"] = np.interp(mid, t_grid, bold_signal[k])
        table["drift"] = drift.astype(float)
        drives_df = pd.DataFrame(table).round(6)

        _lap(clock, "truth table")
        truth = {
            "sampling_frequency": sfreq,
            "n_samples": n_samples,
            "first_volume_sample": first,
            "volume_onsets": np.round(onsets, 6).tolist(),
            "volume_onset_samples": vol_samples.tolist(),
            "trigger": p.trigger,
            "repetition_time": p.tr,
            "slice_timing": np.round(self.slice_times, 6).tolist(),
            "coupling": p.coupling,
            "modulation_depth": p.modulation_depth,
            "bold_amplitude": p.bold_amplitude,
            "bold_thermal_noise_sd": float(noise_sd),
            "bold_baseline_s0": subject["s0"],
            "eeg_gain": subject["eeg_gain"],
            "heart_rate_bpm": subject["heart_rate"],
            "n_heartbeats": int(peak_samples.size),
            "hrf": "canonical double gamma (SPM: peak 6 s, undershoot 16 s, ratio 1/6)",
            "networks": [
                dict(net.to_dict(), map_index=k) for k, net in enumerate(self.networks)
            ],
            "n_events": 0 if events is None else int(len(events)),
        }
        if artifacts:
            truth["artifacts"] = artifacts
        if structured is not None:
            truth["bold_structured_noise"] = {
                "ar_sd": float(p.bold_ar_noise * gm_mean),
                "ar_coef": p.bold_ar_coef,
                "cardiac": p.cardiac_noise,
                "respiratory": p.respiratory_noise,
                "voxel_drift": p.voxel_drift,
            }
        return SimulatedRun(
            eeg=eeg,
            ch_names=list(self.ch_names),
            ch_types=list(self.ch_types),
            sfreq=sfreq,
            markers=markers,
            events=events,
            bold=bold,
            noiseless=noiseless,
            drives=drives_df,
            volume_onsets=onsets,
            truth=truth,
            clean_eeg=clean_eeg,
        )

    def _line_noise(self, rng, n_rows, t):
        """Line-frequency sinusoid with random amplitude and phase per row, or None."""
        p = self.preset
        if p.line_noise == 0 or p.line_freq >= p.sfreq / 2:
            return None
        amp = p.line_noise * rng.uniform(0.5, 1.5, n_rows)
        phase = rng.uniform(0, 2 * np.pi, n_rows)
        s = np.sin(2 * np.pi * p.line_freq * t).astype(np.float32)
        c = np.cos(2 * np.pi * p.line_freq * t).astype(np.float32)
        a = (amp * np.cos(phase)).astype(np.float32)[:, None]
        b = (amp * np.sin(phase)).astype(np.float32)[:, None]
        return a * s[None] + b * c[None]
