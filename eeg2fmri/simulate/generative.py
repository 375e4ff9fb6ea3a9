"""The generative model: one run of EEG and BOLD from the neural drives.

:class:`GenerativeModel` puts together the parts, each in its own module:
:mod:`.anatomy` (template and network maps), :mod:`.networks` (network library,
oddball paradigm), :mod:`.eeg_signals` (channel layout, rhythms, 1/f, ECG),
:mod:`.haemodynamics` (drives, HRF, slice timing) and :mod:`.scanner` (structured
BOLD noise, MR artifacts). Only this module imports the others (no import cycle).

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

import time
from dataclasses import dataclass

import numpy as np
from scipy import signal

from .._utils.logging import logger
from . import scanner
from .anatomy import Anatomy, load_anatomy, network_maps
from .bold_noise import StructuredBoldNoise, physio_phases
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
from .haemodynamics import DT, WARMUP, canonical_hrf, slice_timing, smooth_noise
from .networks import ERPS, NETWORKS, NetworkSpec, oddball_events
from .streams import realism_rng

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
            [topography(self.eeg_names, net.eeg_centers) for net in self.networks],
            axis=1,
        )
        self.erp_topographies = [topography(self.eeg_names, e[1]) for e in ERPS]
        self.mixing = spatial_mixing(self.eeg_names)
        self.slice_times = slice_timing(p.bold_shape[0], p.tr, p.slice_order)
        self.hrf = canonical_hrf(DT)
        zooms = np.sqrt((self.anatomy.affine[:3, :3] ** 2).sum(0))  # (i, j, k) mm
        self.zooms_dhw = (float(zooms[2]), float(zooms[0]), float(zooms[1]))

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
                noisy += structured.slice(z, acq[:, z])
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

    def _line(self, rng, n_rows, t):
        p = self.preset
        return line_noise(
            rng, n_rows, t, amplitude=p.line_noise, freq=p.line_freq, sfreq=p.sfreq
        )
