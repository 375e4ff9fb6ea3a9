"""Participant and group reports: figures written to disk and inlined in one HTML file.

A participant report goes to ``<out>/sub-<label>.html`` with its figures in
``<out>/sub-<label>/figures/`` (fMRIPrep's layout); the HTML embeds the same figures as
base64, so the file opens offline on its own.
"""

import datetime
import json
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._utils.io import write_text_atomic
from .._version import __version__
from . import figures as F
from .html import data_uri, render, table_html

__all__ = ["RunResult", "ParticipantReport", "write_group_report"]


@dataclass
class RunResult:
    """Everything the report shows about one synthesized run.

    Parameters
    ----------
    label : str
        BIDS prefix of the run (``sub-01_task-rest_run-1``).
    measured : ndarray of shape (n_volumes, D, H, W) or None
        Measured volumes (the units of ``synthesized``); None for EEG recorded
        without fMRI.
    synthesized : ndarray of shape (n_volumes, D, H, W)
        Synthesized volumes.
    baseline : ndarray of shape (n_volumes, D, H, W) or None
        Mean-volume baseline prediction.
    affine : ndarray of shape (4, 4)
    tr : float
    volume_indices : ndarray of int, shape (n_volumes,)
        Index of each volume in the source run.
    metrics : pandas.DataFrame or None
        Per-volume scores (``ssim``, ``psnr`` and ``*_baseline``); None without
        measured BOLD.
    r_map : ndarray of shape (D, H, W) or None
        Voxel-wise temporal correlation (0 outside ``mask``).
    mask : ndarray of bool, shape (D, H, W)
    summary : dict
        Run-level numbers (``ssim``, ``psnr``, ``temporal_r`` and baselines).
    files : dict
        Output files of the run, relative to the output root.
    eeg_correction : dict or None
        Sidecar of the corrected EEG (``SoftwareFilters`` and ``eeg2fmri.qc``, see
        :mod:`eeg2fmri.artifacts.derivatives`) when the run's EEG was corrected.
    context_complete : ndarray of bool, shape (n_frames,), optional
        Per synthesized frame of the whole run: whether its EEG context was complete.
    timing : str, optional
        Where the volume onsets came from.
    adaptations : list of str, optional
        What was done to put the recording into the model's channels.
    reference : ndarray of shape (D, H, W), optional
        The model's reference volume (background of EEG-only figures).
    space : str, optional
        Space label of EEG-only outputs.
    """

    label: str
    measured: np.ndarray
    synthesized: np.ndarray
    baseline: np.ndarray
    affine: np.ndarray
    tr: float
    volume_indices: np.ndarray
    metrics: pd.DataFrame
    r_map: np.ndarray
    mask: np.ndarray
    summary: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    eeg_correction: dict | None = None
    context_complete: np.ndarray | None = None
    timing: str | None = None
    adaptations: list = field(default_factory=list)
    reference: np.ndarray | None = None
    space: str | None = None

    @property
    def has_measured(self):
        """Whether the run has measured BOLD to compare with (bool)."""
        return self.measured is not None


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _card(label, value, base=None, digits=3, ridge=None):
    """A summary card: the model's value, the mean-volume baseline's and the
    band-power ridge's (trained on the same participants) beneath."""
    from .html import _fmt

    lines = []
    if base is not None:
        lines.append(f"mean-volume baseline: {_fmt(base, digits)}")
    if ridge is not None:
        lines.append(f"band-power ridge: {_fmt(ridge, digits)}")
    return {"label": label, "value": _fmt(value, digits), "lines": lines}


def _text_card(label, value, note=None):
    return {"label": label, "value": str(value), "lines": [note] if note else []}


def _run_mean(runs, key):
    """Mean of a run-summary value over the runs that have it (None if none)."""
    values = np.array([r.summary.get(key) for r in runs], dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


class ParticipantReport:
    """HTML report of one participant (nilearn-style: ``save_as_html``,
    ``_repr_html_``, ``open_in_browser``).

    Parameters
    ----------
    participant : str
        Label without ``sub-``.
    out_dir : str or Path
        Output root; figures go to ``<out_dir>/sub-<label>/figures/``.
    command : str, optional
        The exact command that produced the outputs.
    versions : dict, optional
    model_info : dict, optional
        ``Name``, ``Scheme``, ``File``, ``SHA256``, ``TrainingParticipants``.
    history : list of dict or dict, optional
        ``Spec2VolEstimator.history_`` (training curves).
    config : dict, optional
        Effective settings, shown as TOML/JSON.
    fig_format : {"png", "svg"}, default="png"
    """

    def __init__(self, participant, out_dir, *, command="", versions=None,
                 model_info=None, history=None, config=None, fig_format="png"):
        self.participant = str(participant)
        self.out_dir = Path(out_dir)
        self.command = command
        self.versions = versions or {"eeg2fmri": __version__}
        self.model_info = dict(model_info or {})
        self.history = history
        self.config = config
        self.fig_format = fig_format
        self.runs = []
        self.warnings = []
        self.skipped = []
        self._html = None

    @property
    def figures_dir(self):
        """``<out_dir>/sub-<label>/figures``."""
        return self.out_dir / f"sub-{self.participant}" / "figures"

    def add_run(self, result):
        """Add a :class:`RunResult`."""
        self.runs.append(result)
        self._html = None
        return self

    def _figure(self, fig, name, caption, alt, css=""):
        path = self.figures_dir / f"{name}.{self.fig_format}"
        data = F.save_figure(fig, path)
        return {"src": data_uri(data, self.fig_format), "caption": caption, "alt": alt,
                "css": css, "path": path}

    def _context_note(self, run):
        complete = run.context_complete
        if complete is None:
            return None
        n_short = int(np.sum(~np.asarray(complete, dtype=bool)))
        return (
            f"{len(complete)} frames synthesized (every volume the EEG covers); "
            f"{n_short} at the run start had an incomplete EEG context (the missing "
            "windows hold the recording's mean spectrum)"
            + ("" if not run.has_measured else ", and are not scored")
            + "."
        )

    def _eeg_only_figures(self, run):
        from . import synthesis_figures as SF

        stem = run.label
        figs = [
            self._figure(
                SF.plot_variability_maps(run.synthesized, run.reference, run.affine,
                                         run.mask),
                f"{stem}_desc-sd_statmap",
                "Temporal standard deviation of the synthesized BOLD (% of the "
                "model's reference volume, the background) inside the model's brain "
                "mask: where the model predicts EEG-driven fluctuations.",
                "variability of the synthesized BOLD", css="dark"),
            self._figure(
                SF.plot_synthesized_carpet(run.synthesized, run.affine, run.mask,
                                           run.tr, run.context_complete),
                f"{stem}_desc-carpet_bold",
                "Carpet plot of the synthesized BOLD (voxels of the brain mask, "
                "standardized); the shaded start holds the frames whose EEG context "
                "was incomplete.", "carpet plot"),
            self._figure(
                SF.plot_components(run.synthesized, run.affine, run.mask, run.tr,
                                   run.reference),
                f"{stem}_desc-components_bold",
                "The three strongest spatial patterns of the synthesized BOLD "
                "(principal components of the standardized voxel time series) and "
                "their time courses, with their share of the variance.",
                "principal components"),
        ]
        return figs

    def _run_section(self, run):
        notes = [n for n in (self._context_note(run), run.timing) if n]
        notes += [f"EEG adapted to the model: {a}" for a in run.adaptations]
        if run.has_measured:
            figures = self._measured_figures(run)
        else:
            figures = self._eeg_only_figures(run)
            notes.insert(0, (
                "EEG recorded without fMRI: there is no measured BOLD to compare "
                f"with (no scores). Outputs on the model's grid, space-{run.space}."
            ))
        return {
            "label": run.label,
            "n_volumes": len(run.volume_indices),
            "first": int(np.min(run.volume_indices)),
            "last": int(np.max(run.volume_indices)),
            "tr": run.tr,
            "outputs": sorted(Path(f).name for f in run.files.values()
                              if str(f).endswith((".nii.gz", ".tsv"))),
            "figures": figures,
            "notes": notes,
        }

    def _measured_figures(self, run):
        stem = run.label
        ssim = run.metrics["ssim"].to_numpy()
        # the most typical volume: median SSIM
        t = int(np.argsort(ssim)[len(ssim) // 2])
        figs = []
        base = None if run.baseline is None else run.baseline[t]
        fig = F.plot_volume_comparison(run.measured[t], run.synthesized[t], run.affine,
                                       baseline=base)
        figs.append(self._figure(
            fig, f"{stem}_desc-slices_bold",
            f"Source volume {int(run.volume_indices[t])} (median SSIM of the run, "
            f"{ssim[t]:.3f}): measured, synthesized"
            + (", mean-volume baseline" if base is not None else "")
            + " and the absolute error of the synthesized volume, on axial slices.",
            "measured vs synthesized slices", css="dark"))
        fig = F.plot_correlation_map(run.r_map, run.measured.mean(axis=0), run.affine)
        figs.append(self._figure(
            fig, f"{stem}_desc-tcorr_statmap",
            "Voxel-wise temporal correlation between synthesized and measured BOLD "
            "(|r| > 0.1) over the mean measured EPI. Mean r in the mask: "
            f"{run.summary.get('temporal_r', float('nan')):.3f}.",
            "temporal correlation map", css="dark"))
        fig = F.plot_global_signal(run.measured, run.synthesized, run.mask, run.tr,
                                   run.volume_indices)
        figs.append(self._figure(
            fig, f"{stem}_desc-globalsignal_timeseries",
            "Mean signal inside the brain mask over time (z-scored).",
            "global signal"))
        fig = F.plot_metric_distributions(run.metrics)
        figs.append(self._figure(
            fig, f"{stem}_desc-metrics_violin",
            "Per-volume SSIM and PSNR of the synthesized volumes and of the "
            "mean-volume baseline (bars: medians).", "metric distributions"))
        qc = ((run.eeg_correction or {}).get("eeg2fmri") or {}).get("qc")
        if qc:
            steps = ", ".join(sorted((run.eeg_correction or {}).get(
                "SoftwareFilters", {})))
            pulse = qc.get("pulse_locked_db_after")
            figs.append(self._figure(
                F.plot_eeg_correction(qc), f"{stem}_desc-eegcorrection_psd",
                f"EEG corrected for the scanner artifacts ({steps}): spectra of "
                f"{len(qc.get('channels', []))} channels before and after. Power "
                "locked to the 1/TR harmonics over chance: "
                f"{qc['gradient_excess_db']['before']:+.1f} dB before, "
                f"{qc['gradient_excess_db']['after']:+.1f} dB after"
                + (f"; heartbeat-locked power after: {pulse:+.1f} dB"
                   if pulse is not None else "") + ".",
                "EEG spectra before and after the artifact correction"))
        return figs

    def _summary_frame(self):
        rows = []
        for run in self.runs:
            s = run.summary
            rows.append({
                "run": run.label,
                "measured BOLD": "yes" if run.has_measured else "no (EEG only)",
                "volumes scored": len(run.volume_indices) if run.has_measured else 0,
                "SSIM": s.get("ssim"), "PSNR": s.get("psnr"),
                "temporal r": s.get("temporal_r"),
                "SSIM (baseline)": s.get("ssim_baseline"),
                "PSNR (baseline)": s.get("psnr_baseline"),
            })
        for label, reason in self.skipped:
            rows.append({"run": label, "measured BOLD": f"skipped: {reason}"})
        return pd.DataFrame(rows)

    def add_skipped(self, label, reason):
        """List a run that was not processed, with the reason."""
        self.skipped.append((str(label), str(reason)))
        self._html = None
        return self

    def render(self):
        """Build the figures and return the HTML text."""
        runs = [self._run_section(run) for run in self.runs]
        scored = [r for r in self.runs if r.has_measured]
        allm = (pd.concat([r.metrics for r in scored], ignore_index=True)
                if scored else pd.DataFrame(columns=["ssim", "psnr"]))
        cards = [
            _card("Temporal r, signal voxels",
                  _run_mean(scored, "temporal_r_signal"),
                  _run_mean(scored, "temporal_r_signal_baseline"),
                  ridge=_run_mean(scored, "temporal_r_signal_ridge")),
            _card("Temporal r, brain", _run_mean(scored, "temporal_r"),
                  _run_mean(scored, "temporal_r_baseline"),
                  ridge=_run_mean(scored, "temporal_r_ridge")),
            _card("SSIM", allm["ssim"].mean(),
                  allm["ssim_baseline"].mean() if "ssim_baseline" in allm else None),
            _card("PSNR (dB)", allm["psnr"].mean(),
                  allm["psnr_baseline"].mean() if "psnr_baseline" in allm else None, 2),
            _text_card("Volumes scored", len(allm)),
        ]
        n_eeg_only = len(self.runs) - len(scored)
        if n_eeg_only:
            cards.append(_text_card("EEG-only runs", n_eeg_only,
                                    "no measured BOLD: not scored"))
        training = []
        fig = F.plot_training_curves(self.history)
        if fig is not None:
            training.append(self._figure(
                fig, "desc-training_curves",
                "Training history of the model that synthesized this participant.",
                "training curves"))
        config = None
        if self.config:
            try:
                import tomli_w

                config = tomli_w.dumps(
                    {k: v for k, v in self.config.items() if v is not None})
            except (ImportError, TypeError, ValueError):
                config = json.dumps(self.config, indent=2, default=str)
        model = {"Name": "n/a", "Scheme": "n/a", "File": "n/a", "SHA256": "n/a",
                 "TrainingParticipants": [], **self.model_info}
        self._html = render(
            "participant.html", participant=self.participant, runs=runs, cards=cards,
            summary_table=table_html(self._summary_frame()), model=model,
            training=training, command=self.command, versions=self.versions,
            config=config, warnings=self.warnings, generated=_now(),
        )
        return self._html

    def get_html(self):
        """The HTML text (rendered once)."""
        return self._html if self._html is not None else self.render()

    def _repr_html_(self):
        return self.get_html()

    def save_as_html(self, path):
        """Write the report (atomically); returns the path."""
        return write_text_atomic(path, self.get_html())

    def open_in_browser(self, path=None):
        """Save (to ``<out_dir>/sub-<label>.html`` by default) and open it."""
        path = Path(path or self.out_dir / f"sub-{self.participant}.html")
        self.save_as_html(path)
        webbrowser.open(path.resolve().as_uri())
        return path


def write_group_report(path, table, volumes=None, *, command="", versions=None,
                       model_path=None, fig_format="png"):
    """Write ``group_report.html`` (table + the paper's Figure 3 style violins).

    Parameters
    ----------
    path : str or Path
        Destination; figures go to ``<parent>/figures/``.
    table : pandas.DataFrame
        One row per participant (``participant_id``, ``n_volumes``, ``ssim``,
        ``psnr``, ``temporal_r`` and ``*_baseline``).
    volumes : pandas.DataFrame, optional
        All per-volume scores (for the total count).
    command : str
    versions : dict, optional
    model_path : str or Path, optional
        The model trained on all participants (``--save-model``).

    Returns
    -------
    path : Path
    """
    path = Path(path)
    versions = versions or {"eeg2fmri": __version__}
    fig_dir = path.parent / "figures"
    figs = []
    fig = F.plot_group_violins(table)
    data = F.save_figure(fig, fig_dir / f"group_desc-metrics_violin.{fig_format}")
    figs.append({"src": data_uri(data, fig_format), "alt": "group violins",
                 "caption": "Per-participant mean scores: half violins with one point "
                 "per participant, Spec2Vol vs the mean-volume baseline (after the "
                 "paper's Figure 3)."})
    rows = []
    for name, label, digits in (("ssim", "SSIM", 3), ("psnr", "PSNR (dB)", 2),
                                ("temporal_r", "Temporal r", 3)):
        row = {"metric": label}
        for who, col in (("Spec2Vol", name), ("Mean-volume baseline",
                                               f"{name}_baseline")):
            values = table[col].to_numpy(float) if col in table else np.array([])
            values = values[np.isfinite(values)]
            if values.size > 1:
                row[who] = (f"{values.mean():.{digits}f} ± "
                            f"{values.std(ddof=1):.{digits}f}")
            else:
                row[who] = f"{values.mean():.{digits}f}" if values.size else "n/a"
        rows.append(row)
    summary = pd.DataFrame(rows)

    def _cell(col, digits=3):
        values = table[col].to_numpy(float) if col in table else np.array([])
        values = values[np.isfinite(values)]
        return float(values.mean()) if values.size else None

    cards = [
        _card("Temporal r, signal voxels", _cell("temporal_r_signal"),
              _cell("temporal_r_signal_baseline"),
              ridge=_cell("temporal_r_signal_ridge")),
        _card("Temporal r, brain", _cell("temporal_r"), _cell("temporal_r_baseline"),
              ridge=_cell("temporal_r_ridge")),
        _card("SSIM", _cell("ssim"), _cell("ssim_baseline")),
        _card("PSNR (dB)", _cell("psnr"), _cell("psnr_baseline"), 2),
        _text_card("Participants", len(table)),
    ]
    n_volumes = int(table["n_volumes"].sum()) if "n_volumes" in table else \
        (len(volumes) if volumes is not None else 0)
    html = render(
        "group.html", figures=figs, summary_table=table_html(summary),
        participant_table=table_html(table), cards=cards,
        participant_links=list(table["participant_id"]),
        n_participants=len(table), n_volumes=n_volumes, command=command,
        versions=versions, model_path=model_path, generated=_now(),
    )
    return write_text_atomic(path, html)
