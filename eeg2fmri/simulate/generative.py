"""The generative model: one run of EEG and BOLD from the neural drives.

:class:`GenerativeModel` puts together the parts, each in its own module:
:mod:`.anatomy` (template and network maps), :mod:`.networks` (network library,
oddball paradigm), :mod:`.eeg_signals` (channel layout, rhythms, 1/f, ECG),
:mod:`.haemodynamics` (drives, HRF, Balloon model, slice timing), :mod:`.coupling`
(vigilance states, spectral-profile drive), :mod:`.bold_noise` (structured BOLD noise),
:mod:`.volumes` (the BOLD images) and :mod:`.scanner` (MR artifacts in the EEG). Only
this module imports them all; none of them imports it (no import cycle).

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
- **BOLD** = ``baseline * (1 + bold_amplitude * sum_k map_k * H_k[b_k](t_slice)
  + drift(t)) + thermal noise + structured noise``, sampled at each slice's
  acquisition time (``SliceTiming``), magnitude taken, stored as int16. In the linear
  presets ``b_k = drive_k`` and ``H_k`` is the canonical HRF convolution; the
  departures of :mod:`.coupling` and :func:`.haemodynamics.network_signals` change
  both. The **ceiling** replaces ``drive_k`` by its EEG-visible part
  (:data:`CEILING_DEFINITION`).
- **EEG** (µV) = sum_k topography_k x band-limited noise_k x envelope_k(t) + ERPs +
  spatially smooth 1/f background + line noise (+ ECG channel). The envelope is
  ``exp(depth * sign_k * c_k(t))`` with ``c_k = coupling * drive_k +
  sqrt(1 - coupling**2) * independent_k``.

Every array that has a time axis is float32 except short per-volume tables.
"""

import time
from dataclasses import dataclass

import numpy as np
from scipy import signal

from .._utils.logging import logger
from . import scanner
from .anatomy import Anatomy, load_anatomy, network_maps
from .bold_noise import StructuredBoldNoise, physio_phases
from .coupling import draw_departures, vigilance_eeg, visible_drive
from .eeg_signals import (
    EEG_CHANNELS,
    band_noise,
    channel_layout,
    ecg_waveform,
    heartbeats,
    line_noise,
    pink_noise,
    spatial_mixing,
    topography,
)
from .haemodynamics import (
    DT,
    WARMUP,
    canonical_hrf,
    hrf_parameters,
    network_signals,
    slice_timing,
    smooth_noise,
)
from .networks import ERPS, NETWORKS, NetworkSpec, oddball_events
from .streams import realism_rng
from .volumes import synthesize_volumes

__all__ = [
    "NETWORKS",
    "EEG_CHANNELS",
    "NetworkSpec",
    "Anatomy",
    "SimulatedRun",
    "GenerativeModel",
    "canonical_hrf",
    "load_anatomy",
    "network_maps",
    "channel_layout",
    "slice_timing",
]


#: How the ``desc-ceiling_bold`` image is defined (also written to its JSON sidecar).
CEILING_DEFINITION = (
    "BOLD predicted from the EEG-visible part of the neural drives, through the "
    "true haemodynamics of the participant, without noise or scanner drift: "
    "baseline * (1 + bold_amplitude * sum_k map_k * H_k[v_k](t_slice)) with "
    "v_k = coupling * c_k + (1 - coupling**2) * e_k, the conditional mean of the "
    "drive d_k given the noise-free EEG latent c_k = coupling * d_k + "
    "sqrt(1 - coupling**2) * xi_k that modulates network k's rhythm (e_k: the "
    "stimulus-locked part of the drive, which the ERPs reveal), and H_k the "
    "participant's drive-to-BOLD transform (vigilance-state weights, spectral-"
    "profile drive, HRF or Balloon model, amplitude-dependent latency). With linear "
    "haemodynamics it is the conditional expectation of the noise-free BOLD given "
    "everything the EEG carries, so no EEG model can predict the measured BOLD "
    "better on average; with non-linear haemodynamics it is the plug-in estimate."
)


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
        BOLD signal at mid-volume (``<name>_hrf``), ``drift``, the ceiling's signal
        (``<name>_ceiling``) and, with departures from linear coupling, the BOLD
        drive (``<name>_bold_drive``) and the drowsy fraction (``vigilance_drowsy``).
    volume_onsets : ndarray of shape (n_volumes,) float64
        True volume onsets in seconds from the first EEG sample.
    truth : dict
        JSON-serialisable ground truth (see :func:`GenerativeModel.simulate_run`).
    clean_eeg : ndarray of shape (n_channels, n_samples) float32 or None
        EEG without the scanner artifacts, when the preset adds them (else None).
    ceiling : ndarray of shape (n_volumes, D, H, W) float32
        The BOLD predicted from the EEG-visible part of the drives through the true
        haemodynamics, without noise or drift (:data:`CEILING_DEFINITION`).
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
    ceiling: np.ndarray | None = None


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
            [topography(self.eeg_names, net.eeg_centers) for net in self.networks],
            axis=1,
        )
        self.erp_topographies = [topography(self.eeg_names, e[1]) for e in ERPS]
        self.mixing = spatial_mixing(self.eeg_names)
        self.slice_times = slice_timing(p.bold_shape[0], p.tr, p.slice_order)
        self.hrf = canonical_hrf(DT)
        zooms = np.sqrt((self.anatomy.affine[:3, :3] ** 2).sum(0))  # (i, j, k) mm
        self.zooms_dhw = (float(zooms[2]), float(zooms[0]), float(zooms[1]))

    def _departures(self, seed_sequence, subject, t_grid, c):
        """Vigilance states and spectral drive of a run (own ``"state"`` stream)."""
        return draw_departures(
            self.preset,
            self.networks,
            self.topographies,
            subject,
            realism_rng(seed_sequence, "state"),
            t_grid,
            c,
        )

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
        t_grid = np.arange(-WARMUP, duration + 1.0, DT)
        drives = smooth_noise(rng, (n_net, t_grid.size), DT, p.drive_timescale)
        independent = smooth_noise(rng, (n_net, t_grid.size), DT, p.drive_timescale)
        event_drive = np.zeros_like(drives)
        events = None
        if p.paradigm == "oddball":
            ev_on, ev_kind = oddball_events(
                rng,
                onsets[0] + 1.0,
                onsets[-1] + p.tr - 1.0,
                p.event_isi,
                p.target_fraction,
            )
            for k, net in enumerate(self.networks):
                for kind, weight in net.event_weights.items():
                    for t0 in ev_on[ev_kind == kind]:
                        window = (t_grid >= t0) & (t_grid < t0 + 1.0)
                        drives[k, window] += weight
                        event_drive[k, window] += weight
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
        c = p.coupling * drives + np.sqrt(1 - p.coupling**2) * independent
        dep = self._departures(seed_sequence, subject, t_grid, c)
        hrf_peaks, dispersion = hrf_parameters(p, subject, n_net)

        def signals(latent):  # BOLD drive -> BOLD signal per network, (K, n_grid)
            return network_signals(
                dep.bold_drive(latent),
                preset=p,
                peaks=hrf_peaks,
                dispersion=dispersion,
                default_hrf=self.hrf,
                dt=DT,
            )

        bold_signal = signals(drives)
        # the ceiling: the EEG-visible part of the drives, same haemodynamics
        visible = visible_drive(c, event_drive, p.coupling)
        ceiling_signal = signals(visible)
        acq = onsets[:, None] + self.slice_times[None, :]  # (T, D)

        def at_slices(sig):  # (K, n_grid) -> (T, D, K) float32
            return np.stack([np.interp(acq, t_grid, x) for x in sig], -1).astype(
                np.float32
            )

        per_slice, per_slice_ceiling = at_slices(bold_signal), at_slices(ceiling_signal)
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
        structured = None
        if p.has_structured_noise:  # own random stream: the main one is unchanged
            rng_bold = realism_rng(seed_sequence, "bold")
            structured = StructuredBoldNoise(
                rng_bold,
                n_volumes=n_volumes,
                baseline=baseline,
                pulsatile=self.anatomy.csf + 0.3 * self.anatomy.gm,
                zooms=self.zooms_dhw,
                run_duration=n_volumes * p.tr,
                phases=physio_phases(rng_bold, duration + p.tr, subject["heart_rate"]),
                preset=p,
            )
        bold, noiseless, ceiling = synthesize_volumes(
            rng,
            per_slice=per_slice,
            per_slice_ceiling=per_slice_ceiling,
            drift=drift,
            baseline=baseline,
            gains=gains,
            noise_sd=noise_sd,
            structured=structured,
            acq=acq,
        )

        clock = _lap(clock, "bold")
        # ---- EEG ---------------------------------------------------------------------
        t_eeg = np.arange(n_samples) / sfreq
        gain = np.float32(subject["eeg_gain"])
        sources = np.empty((n_net, n_samples), dtype=np.float32)
        for k, net in enumerate(self.networks):
            env = np.exp(
                p.modulation_depth * net.sign * np.interp(t_eeg, t_grid, c[k])
                - 0.5 * p.modulation_depth**2
            ).astype(np.float32)
            sources[k] = band_noise(rng, n_samples, sfreq, net.band)
            sources[k] *= env * np.float32(net.amplitude) * gain
        eeg_only = self.topographies @ sources  # (n_eeg, N)
        del sources
        n_eeg = len(self.eeg_names)
        background = pink_noise(rng, n_eeg, n_samples, sfreq)
        eeg_only += np.float32(10.0 * p.eeg_noise) * (self.mixing @ background)
        del background
        if events is not None:
            for (kinds, _, amp, lat, width), topo in zip(
                ERPS, self.erp_topographies, strict=True
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
        line = self._line(rng, n_eeg, t_eeg)
        if line is not None:
            eeg_only += line
        if dep.state is not None:  # the vigilance state shows in the EEG spectrum
            eeg_only += vigilance_eeg(
                dep.rng,
                np.interp(t_eeg, t_grid, dep.drowsiness),
                self.eeg_names,
                sfreq,
                subject["eeg_gain"],
            )

        eeg = np.empty((len(self.ch_names), n_samples), dtype=np.float32)
        eeg_rows = [i for i, t in enumerate(self.ch_types) if t == "EEG"]
        eeg[eeg_rows] = eeg_only
        del eeg_only
        peaks = heartbeats(rng, duration, subject["heart_rate"])
        peak_samples = np.round(peaks * sfreq).astype(int)
        peak_samples = peak_samples[peak_samples < n_samples]
        if p.has_ecg:
            wave, offset = ecg_waveform(sfreq)
            ecg = 20.0 * pink_noise(rng, 1, n_samples, sfreq)[0]
            for s in peak_samples:
                lo, hi = s - offset, s - offset + wave.size
                a, b = max(lo, 0), min(hi, n_samples)
                ecg[a:b] += wave[a - lo : b - lo]
            line = self._line(rng, 1, t_eeg)
            if line is not None:
                ecg += line[0]
            eeg[self.ch_types.index("ECG")] = ecg

        clean_eeg, artifacts = None, {}
        if p.has_artifacts:  # own random streams: the clean EEG is unchanged
            clean_eeg = eeg.copy()
            if p.pulse_artifact > 0:
                artifacts["pulse"] = scanner.add_pulse_artifact(
                    eeg,
                    realism_rng(seed_sequence, "pulse"),
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
                    realism_rng(seed_sequence, "gradient"),
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
        for k, net in enumerate(self.networks):
            table[f"{net.name}_ceiling"] = np.interp(mid, t_grid, ceiling_signal[k])
        # what the ceiling's haemodynamics see: the EEG-visible drive, after the
        # departures from linear coupling
        ceiling_drive = dep.bold_drive(visible)
        for k, net in enumerate(self.networks):
            table[f"{net.name}_ceiling_drive"] = (win @ ceiling_drive[k]) / counts
        if p.has_nonlinear_coupling:
            bold_drive = dep.bold_drive(drives)
            for k, net in enumerate(self.networks):
                table[f"{net.name}_bold_drive"] = (win @ bold_drive[k]) / counts
        if dep.state is not None:
            table["vigilance_drowsy"] = (win @ dep.state.astype(float)) / counts
            table["vigilance_weight"] = (win @ dep.weights) / counts
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
            truth["bold_structured_noise"] = structured.info(gm_mean)
        truth["ceiling"] = CEILING_DEFINITION
        if p.has_nonlinear_coupling:
            truth["coupling_departures"] = dict(
                dep.info,
                haemodynamics=p.haemodynamics,
                latency_shift_s=p.latency_shift,
                hrf_time_to_peak_s={
                    net.name: round(float(pk), 4)
                    for net, pk in zip(self.networks, hrf_peaks, strict=True)
                },
                hrf_dispersion=round(dispersion, 4),
            )
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
            ceiling=ceiling,
        )

    def _line(self, rng, n_rows, t):
        p = self.preset
        return line_noise(
            rng, n_rows, t, amplitude=p.line_noise, freq=p.line_freq, sfreq=p.sfreq
        )
