"""Simulation presets after the three EEG-fMRI datasets in the Spec2VolCAMU-Net paper.

Each preset is a frozen :class:`SimulationPreset`; :func:`resolve_preset` applies
keyword overrides (any field) and checks every value, so that a bad parameter fails
with a one-line message before anything is simulated.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SimulationPreset",
    "SIMULATION_PRESETS",
    "resolve_preset",
    "REALISM_FIELDS",
    "COUPLING_FIELDS",
    "REALISTIC_NOISE",
    "WHITE_NOISE",
]

#: Preset fields that add scanner realism (all off by default).
REALISM_FIELDS = (
    "bold_ar_noise",
    "bold_ar_coef",
    "bold_ar_coef_sd",
    "cardiac_noise",
    "respiratory_noise",
    "voxel_drift",
    "drift_period",
    "noise_fwhm",
    "gradient_artifact",
    "gradient_jitter",
    "pulse_artifact",
)

#: Preset fields of the departures from linear coupling (all off in the paper presets).
COUPLING_FIELDS = (
    "vigilance_dwell",
    "state_weight",
    "state_flip_fraction",
    "spectral_drive",
    "haemodynamics",
    "latency_shift",
    "hrf_peak_sd_subject",
    "hrf_peak_sd_region",
    "hrf_dispersion_sd",
)


@dataclass(frozen=True)
class SimulationPreset:
    """Every parameter of one simulated EEG-fMRI dataset.

    Parameters
    ----------
    name : str
        Preset name (``"noddi"``, ``"oddball"``, ``"cnepfl"`` or a user label).
    task : str
        BIDS task label (alphanumeric).
    paradigm : {"rest", "oddball"}
        ``"rest"``: no events. ``"oddball"``: standard and target stimuli; targets
        evoke an ERP (P300 over Pz) and drive the frontal and default-mode networks,
        all stimuli evoke an N100 over Cz. Task runs get ``_events.tsv`` files.
    sfreq : float
        EEG sampling frequency in Hz (at least 100).
    n_channels : int
        Number of EEG channels written, *including* the ECG channel when
        ``has_ecg`` (e.g. 64 = 63 EEG + ECG). The EEG channels are the first ones of
        a BrainCap-MR-like 63-electrode 10-10 list (well spread for any prefix).
    has_ecg : bool
        Write an ``ECG`` channel (type ECG; kept for every ``n_channels``).
    tr : float
        Repetition time in seconds.
    bold_shape : tuple of int
        BOLD grid ``(D, H, W)``: D slices along the NIfTI 3rd axis, H and W along
        the 1st and 2nd.
    n_volumes : int
        Default number of volumes per run.
    n_networks : int
        Number of simulated networks (1 to 6), taken in this order: visual, motor,
        default_mode, frontal, auditory, dorsal_attention.
    coupling : float
        In [0, 1]: correlation between a network's neural drive and the log
        amplitude envelope of its EEG rhythm (0 = EEG carries no information about
        BOLD, 1 = the envelope follows the drive exactly).
    modulation_depth : float
        Standard deviation of the log amplitude envelope of the rhythms.
    bold_amplitude : float
        BOLD signal change (fraction of baseline) per unit of HRF-convolved drive
        where a network map equals 1.
    bold_noise : float
        Thermal noise standard deviation as a fraction of the mean grey-matter
        baseline.
    drift_amplitude : float
        Standard deviation of the slow (cosine) scanner drift, fraction of baseline.
    eeg_noise : float
        Scale of the spatially smooth 1/f background (1.0 = about 10 µV RMS).
    line_noise : float
        Mean amplitude in µV of the power-line sinusoid.
    line_freq : float
        Power-line frequency in Hz (50 or 60).
    eeg_lead : float
        Seconds of EEG before the first volume trigger.
    eeg_tail : float
        Seconds of EEG after the end of the last volume.
    drive_timescale : float
        Time scale in seconds of the smooth random drives (Gaussian low-pass with
        cut-off about ``1 / drive_timescale`` Hz).
    trigger : str
        Volume trigger as ``"<type>/<description>"``, the way MNE names BrainVision
        markers (``"Response/R128"``, ``"Scanner/Scan Start"``).
    slice_markers : bool
        Also write one ``Scanner/s`` marker per slice (as BrainVision Analyzer's
        scanner artifact correction exports).
    pulse_markers : bool
        Write ``Pulse Artifact/R`` markers at the ECG R peaks.
    slice_order : {"interleaved", "ascending"}
        Slice acquisition order for ``SliceTiming``.
    event_isi : float
        Mean stimulus onset asynchrony in seconds (oddball paradigm).
    target_fraction : float
        Fraction of target stimuli (oddball paradigm).
    eeg_reference : str
        Reference electrode written to the sidecar.
    field_strength : float
        Magnetic field strength in tesla (sidecar only).
    bold_ar_noise : float
        Structured-noise option (0 = off). Standard deviation of a temporally
        autocorrelated AR(1) noise per voxel, fraction of the voxel's baseline,
        added to the thermal noise (:mod:`eeg2fmri.simulate.bold_noise`).
    bold_ar_coef : float
        Mean AR(1) coefficient of that noise across voxels, in [0, 1).
    bold_ar_coef_sd : float
        Standard deviation of the AR(1) coefficient across voxels (a spatially
        smooth map, clipped to [0, 0.95]).
    cardiac_noise, respiratory_noise : float
        Structured-noise options (0 = off). Standard deviation of cardiac and
        respiratory fluctuations (two-harmonic Fourier series of each phase, sampled
        at each slice's acquisition time, hence aliased at the TR), fraction of the
        baseline where ``CSF + 0.3 GM`` equals 1.
    voxel_drift : float
        Structured-noise option (0 = off). Standard deviation of a slow drift with
        random cosine coefficients per voxel, fraction of the baseline.
    drift_period : float
        Shortest period (s) of that drift's cosine basis (SPM's 128 s high-pass
        cut-off).
    noise_fwhm : float
        Spatial smoothness (FWHM, mm) of the AR noise and of the maps of the
        physiological and drift coefficients (0 = white in space).
    gradient_artifact : float
        Realism option (0 = off). Typical peak amplitude (µV) of the MR gradient
        artifact in the EEG: one waveform per slice (``bold_shape[0]`` slices back to
        back over the TR), per-channel gains, sub-sample clock offset per volume.
    gradient_jitter : float
        Standard deviation (samples) of the extra timing jitter of each slice.
    pulse_artifact : float
        Realism option (0 = off). Peak amplitude (µV) of the pulse artifact locked
        to the heartbeats of the ECG channel (needs ``has_ecg`` to be corrected).
    vigilance_dwell : (float, float) or None
        Departure from linear coupling (None = off): a latent vigilance state
        (alert/drowsy) switching after dwell times uniform in this range (s),
        visible in the EEG (posterior alpha down, frontal theta up when drowsy);
        the BOLD drive is multiplied by 1 when alert and ``state_weight`` when
        drowsy (:mod:`eeg2fmri.simulate.coupling`).
    state_weight : float
        BOLD-drive weight in the drowsy state.
    state_flip_fraction : float
        Probability that a participant's state weights are negated (sign flip).
    spectral_drive : float
        Departure (0 = off), in [0, 1]: weight ``a`` of the spectral-profile drive
        (relative high- vs low-frequency power near the network) in the BOLD drive
        ``(1 - a) d + a s``.
    haemodynamics : {"linear", "balloon"}
        ``"balloon"``: the non-linear Balloon-Windkessel model (saturation,
        refractoriness) instead of the HRF convolution.
    latency_shift : float
        Departure (0 = off): seconds by which the largest responses are advanced
        (amplitude-dependent latency).
    hrf_peak_sd_subject, hrf_peak_sd_region : float
        Standard deviation (s) of the HRF time to peak across participants and
        across regions (networks) within a participant (0 = canonical HRF).
    hrf_dispersion_sd : float
        Standard deviation of the HRF dispersion (fraction) across participants.

    Notes
    -----
    The realism options draw from their own random streams, so the EEG and the
    noise-free BOLD do not depend on them. Every preset of
    :data:`SIMULATION_PRESETS` has structured BOLD noise like real EPI
    (:data:`REALISTIC_NOISE`); ``preset.replace(**WHITE_NOISE)`` gives the white
    thermal noise of the first versions back, and with it and no artifacts
    :meth:`to_dict` leaves the realism fields out. With artifacts on, the clean EEG
    (without them) is written to ``derivatives/simulation``.
    """

    name: str
    task: str
    paradigm: str
    sfreq: float
    n_channels: int
    has_ecg: bool
    tr: float
    bold_shape: tuple
    n_volumes: int
    n_networks: int = 4
    coupling: float = 0.8
    modulation_depth: float = 0.5
    bold_amplitude: float = 0.03
    bold_noise: float = 0.01
    drift_amplitude: float = 0.005
    eeg_noise: float = 1.0
    line_noise: float = 2.0
    line_freq: float = 50.0
    eeg_lead: float = 10.0
    eeg_tail: float = 4.0
    drive_timescale: float = 15.0
    trigger: str = "Response/R128"
    slice_markers: bool = False
    pulse_markers: bool = False
    slice_order: str = "interleaved"
    event_isi: float = 2.5
    target_fraction: float = 0.2
    eeg_reference: str = "FCz"
    field_strength: float = 3.0
    bold_ar_noise: float = 0.0
    bold_ar_coef: float = 0.45
    bold_ar_coef_sd: float = 0.08
    cardiac_noise: float = 0.0
    respiratory_noise: float = 0.0
    voxel_drift: float = 0.0
    drift_period: float = 128.0
    noise_fwhm: float = 5.0
    gradient_artifact: float = 0.0
    gradient_jitter: float = 0.05
    pulse_artifact: float = 0.0
    vigilance_dwell: tuple | None = None
    state_weight: float = 0.2
    state_flip_fraction: float = 0.15
    spectral_drive: float = 0.0
    haemodynamics: str = "linear"
    latency_shift: float = 0.0
    hrf_peak_sd_subject: float = 0.0
    hrf_peak_sd_region: float = 0.0
    hrf_dispersion_sd: float = 0.0

    def replace(self, **overrides):
        """Return a checked copy with fields replaced (see :func:`resolve_preset`)."""
        return resolve_preset(self, **overrides)

    @property
    def has_artifacts(self):
        """True when the EEG carries gradient or pulse artifacts."""
        return self.gradient_artifact > 0 or self.pulse_artifact > 0

    @property
    def has_structured_noise(self):
        """True when the BOLD carries AR, physiological or per-voxel drift noise."""
        return (
            self.bold_ar_noise > 0
            or self.cardiac_noise > 0
            or self.respiratory_noise > 0
            or self.voxel_drift > 0
        )

    @property
    def has_nonlinear_coupling(self):
        """True when the coupling departs from linear in band power through one HRF."""
        return (
            self.vigilance_dwell is not None
            or self.spectral_drive > 0
            or self.haemodynamics != "linear"
            or self.latency_shift > 0
            or self.hrf_peak_sd_subject > 0
            or self.hrf_peak_sd_region > 0
            or self.hrf_dispersion_sd > 0
        )

    def to_dict(self):
        """Return the fields as a JSON-serialisable dict.

        When every realism option is off, they are left out, so that the truth
        files of the presets without them are unchanged.
        """
        out = dataclasses.asdict(self)
        out["bold_shape"] = list(self.bold_shape)
        if self.vigilance_dwell is not None:
            out["vigilance_dwell"] = list(self.vigilance_dwell)
        if not (self.has_artifacts or self.has_structured_noise):
            for name in REALISM_FIELDS:
                del out[name]
        if not self.has_nonlinear_coupling:
            for name in COUPLING_FIELDS:
                del out[name]
        return out


#: Structured BOLD noise like real EPI, on in every preset (values and sources:
#: docs/user_guide/simulator.rst, "BOLD noise"). AR(1) 0.45 +- 0.08 across voxels,
#: FWHM 5 mm, drift periods >= 128 s, aliased cardiac and respiratory fluctuations.
REALISTIC_NOISE = {
    "bold_noise": 0.005,
    "bold_ar_noise": 0.011,
    "bold_ar_coef": 0.45,
    "bold_ar_coef_sd": 0.08,
    "cardiac_noise": 0.006,
    "respiratory_noise": 0.006,
    "voxel_drift": 0.006,
    "drift_period": 128.0,
    "noise_fwhm": 5.0,
}

#: Overrides that give the white thermal noise of the first simulator versions back.
WHITE_NOISE = {
    "bold_noise": 0.01,
    "bold_ar_noise": 0.0,
    "cardiac_noise": 0.0,
    "respiratory_noise": 0.0,
    "voxel_drift": 0.0,
}

#: Acquisition of each of the paper's datasets (Table 1, reduced in size) and of an
#: in-scanner recording: one row a preset, in the order of ``_ACQUISITION_FIELDS``.
_ACQUISITION_FIELDS = (
    "name", "task", "paradigm", "sfreq", "n_channels", "has_ecg", "tr", "bold_shape",
    "n_volumes", "line_freq", "trigger",
)  # fmt: skip
_ACQUISITIONS = (
    ("noddi", "rest", "rest", 250.0, 64, True, 2.16, (30, 64, 64), 300, 50.0,
     "Scanner/Scan Start"),
    ("oddball", "oddball", "oddball", 1000.0, 43, False, 2.0, (32, 64, 64), 170, 60.0,
     "Response/R128"),
    ("cnepfl", "discrimination", "oddball", 5000.0, 64, True, 1.28, (54, 108, 108),
     120, 50.0, "Response/R128"),
    ("inscanner", "rest", "rest", 5000.0, 64, True, 2.0, (32, 64, 64), 300, 50.0,
     "Response/R128"),
)  # fmt: skip
#: What each of these presets sets beyond its acquisition row and REALISTIC_NOISE.
_ACQUISITION_EXTRAS = {
    "noddi": dict(slice_markers=True, pulse_markers=True, field_strength=1.5),
    "oddball": dict(eeg_reference="Cz"),
    "cnepfl": dict(bold_ar_coef=0.6),  # TR 1.28 s: exp(-TR / 2.5 s)
    "inscanner": dict(
        gradient_artifact=2000.0, gradient_jitter=0.05, pulse_artifact=60.0
    ),
}


def _acquisition_preset(row):
    fields = dict(zip(_ACQUISITION_FIELDS, row, strict=True))
    extras = _ACQUISITION_EXTRAS[fields["name"]]
    return SimulationPreset(**fields, **dict(REALISTIC_NOISE, **extras))


_PAPER_PRESETS = {row[0]: _acquisition_preset(row) for row in _ACQUISITIONS}

#: Reduced-size versions of the paper's three datasets (Table 1), an in-scanner
#: recording and a preset whose coupling departs from linear (``realistic``).
SIMULATION_PRESETS = {
    **_PAPER_PRESETS,
    # noddi (rest, 63 EEG + ECG, TR 2.16 s) with every departure from linear
    # coupling on: rest is where vigilance drifts most (Olbrich et al. 2009)
    "realistic": dataclasses.replace(
        _PAPER_PRESETS["noddi"],
        name="realistic",
        vigilance_dwell=(30.0, 120.0),
        state_weight=0.2,
        state_flip_fraction=0.15,
        spectral_drive=0.5,
        haemodynamics="balloon",
        latency_shift=0.6,
        hrf_peak_sd_subject=0.8,
        hrf_peak_sd_region=0.5,
        hrf_dispersion_sd=0.1,
    ),
}

_MAX_CHANNELS_EEG = 63
_MAX_NETWORKS = 6


def _fail(field, expected, found):
    raise ValueError(
        f"simulation parameter {field!r}: expected {expected}, got {found!r}"
    )


def resolve_preset(preset="noddi", **overrides):
    """Return a checked :class:`SimulationPreset` from a name or instance + overrides.

    Parameters
    ----------
    preset : str or SimulationPreset
        A key of :data:`SIMULATION_PRESETS` or a preset instance.
    **overrides
        Any :class:`SimulationPreset` field.

    Returns
    -------
    preset : SimulationPreset

    Raises
    ------
    ValueError
        Unknown preset name or an invalid value.
    TypeError
        An override that is not a preset field.
    """
    if isinstance(preset, str):
        if preset not in SIMULATION_PRESETS:
            raise ValueError(
                f"unknown simulation preset {preset!r}; expected one of "
                f"{sorted(SIMULATION_PRESETS)}"
            )
        preset = SIMULATION_PRESETS[preset]
    elif not isinstance(preset, SimulationPreset):
        raise TypeError(
            f"preset: expected a preset name or SimulationPreset, got {preset!r}"
        )
    fields = {f.name for f in dataclasses.fields(SimulationPreset)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(
            f"unknown simulation parameter(s) {unknown}; valid ones: {sorted(fields)}"
        )
    if overrides.get("vigilance_dwell") is not None:
        try:
            overrides["vigilance_dwell"] = tuple(
                float(x) for x in overrides["vigilance_dwell"]
            )
        except (TypeError, ValueError):
            _fail(
                "vigilance_dwell",
                "None or (min, max) seconds",
                overrides["vigilance_dwell"],
            )
    if "bold_shape" in overrides and overrides["bold_shape"] is not None:
        shape = overrides["bold_shape"]
        try:
            overrides["bold_shape"] = tuple(int(s) for s in shape)
        except (TypeError, ValueError):
            _fail("bold_shape", "three positive integers (D, H, W)", shape)
    out = dataclasses.replace(preset, **overrides)
    _check(out)
    return out


def _check(p):
    if not (isinstance(p.task, str) and p.task.isalnum()):
        _fail("task", "an alphanumeric BIDS label", p.task)
    if p.paradigm not in ("rest", "oddball"):
        _fail("paradigm", "'rest' or 'oddball'", p.paradigm)
    if not p.sfreq >= 100:
        _fail("sfreq", "a sampling frequency >= 100 Hz", p.sfreq)
    n_eeg = int(p.n_channels) - int(bool(p.has_ecg))
    if int(p.n_channels) != p.n_channels or not 1 <= n_eeg <= _MAX_CHANNELS_EEG:
        _fail(
            "n_channels",
            f"an integer giving 1 to {_MAX_CHANNELS_EEG} EEG channels "
            f"(plus ECG when has_ecg)",
            p.n_channels,
        )
    if not p.tr > 0:
        _fail("tr", "a positive repetition time in seconds", p.tr)
    if len(p.bold_shape) != 3 or min(p.bold_shape) < 2:
        _fail("bold_shape", "three integers >= 2 (D, H, W)", p.bold_shape)
    if int(p.n_volumes) != p.n_volumes or p.n_volumes < 1:
        _fail("n_volumes", "a positive integer", p.n_volumes)
    if int(p.n_networks) != p.n_networks or not 1 <= p.n_networks <= _MAX_NETWORKS:
        _fail("n_networks", f"an integer from 1 to {_MAX_NETWORKS}", p.n_networks)
    if not 0 <= p.coupling <= 1:
        _fail("coupling", "a number in [0, 1]", p.coupling)
    for field in (
        "modulation_depth",
        "bold_amplitude",
        "bold_noise",
        "drift_amplitude",
        "eeg_noise",
        "line_noise",
        "eeg_lead",
        "eeg_tail",
    ):
        if not getattr(p, field) >= 0:
            _fail(field, "a non-negative number", getattr(p, field))
    if not p.drive_timescale > 0:
        _fail("drive_timescale", "a positive number of seconds", p.drive_timescale)
    if not p.line_freq > 0:
        _fail("line_freq", "a positive frequency in Hz", p.line_freq)
    kind, sep, desc = str(p.trigger).partition("/")
    if not (sep and kind and desc) or "," in p.trigger:
        _fail(
            "trigger",
            "'<type>/<description>' without commas, e.g. 'Response/R128'",
            p.trigger,
        )
    if p.slice_order not in ("interleaved", "ascending"):
        _fail("slice_order", "'interleaved' or 'ascending'", p.slice_order)
    if not p.event_isi > 0.5:
        _fail("event_isi", "a mean stimulus interval > 0.5 s", p.event_isi)
    if not 0 < p.target_fraction < 1:
        _fail("target_fraction", "a fraction in (0, 1)", p.target_fraction)
    for field in (
        "bold_ar_noise",
        "cardiac_noise",
        "respiratory_noise",
        "voxel_drift",
        "gradient_artifact",
        "gradient_jitter",
        "pulse_artifact",
    ):
        if not getattr(p, field) >= 0:
            _fail(field, "a non-negative number", getattr(p, field))
    if not 0 <= p.bold_ar_coef < 1:
        _fail("bold_ar_coef", "an AR(1) coefficient in [0, 1)", p.bold_ar_coef)
    for field in ("bold_ar_coef_sd", "noise_fwhm"):
        if not getattr(p, field) >= 0:
            _fail(field, "a non-negative number", getattr(p, field))
    if not p.drift_period > 0:
        _fail("drift_period", "a positive period in seconds", p.drift_period)
    _check_coupling(p)


def _check_coupling(p):
    dwell = p.vigilance_dwell
    if dwell is not None:
        try:
            lo, hi = (float(x) for x in dwell)
        except (TypeError, ValueError):
            lo = hi = float("nan")
        if not 0 < lo <= hi:
            _fail(
                "vigilance_dwell",
                "None or (min, max) seconds with 0 < min <= max",
                dwell,
            )
    if not np.isfinite(p.state_weight) or abs(p.state_weight) > 2:
        _fail("state_weight", "a weight in [-2, 2]", p.state_weight)
    for field in ("state_flip_fraction", "spectral_drive"):
        if not 0 <= getattr(p, field) <= 1:
            _fail(field, "a number in [0, 1]", getattr(p, field))
    if p.haemodynamics not in ("linear", "balloon"):
        _fail("haemodynamics", "'linear' or 'balloon'", p.haemodynamics)
    if not 0 <= p.latency_shift <= 3:
        _fail("latency_shift", "seconds in [0, 3]", p.latency_shift)
    for field in ("hrf_peak_sd_subject", "hrf_peak_sd_region", "hrf_dispersion_sd"):
        if not 0 <= getattr(p, field) <= 3:
            _fail(field, "a standard deviation in [0, 3]", getattr(p, field))
