"""The group level's tables: the participants' scores, gathered from their outputs.

The group level reads what the participant level wrote (the per-run metrics and
their JSON summaries), never recomputes it: :func:`collect_participant_metrics`
averages per participant, :func:`summarize_group` adds the mean and standard
deviation across participants (the paper's Table 2), :func:`list_eeg_only_runs` lists
the runs synthesized from EEG alone (they have no scores).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["collect_participant_metrics", "summarize_group", "list_eeg_only_runs"]


def collect_participant_metrics(out_dir, participants=None):
    """Per-participant means of the metrics written by the participant level.

    Returns
    -------
    table : pandas.DataFrame
        One row per participant with measured BOLD: ``participant_id``,
        ``n_runs``, ``n_volumes`` (scored) and the mean of ``ssim``, ``psnr``,
        ``temporal_r`` and their ``*_baseline``; ``temporal_r_ridge`` (the
        band-power ridge trained on the same participants, when the participant
        level compared it) and the three temporal r in the model's signal voxels
        (``temporal_r_signal*``); NaN where a run did not have them.
    volumes : pandas.DataFrame
        Every scored per-volume row with its ``participant_id`` and ``run``.
    """
    out_dir = Path(out_dir)
    rows, frames = [], []
    files = sorted(out_dir.glob("sub-*/**/func/*_desc-eeg2fmri_metrics.tsv"))
    by_participant = {}
    for tsv in files:
        participant = tsv.name.split("_", 1)[0]
        if participants and participant[4:] not in participants:
            continue
        by_participant.setdefault(participant, []).append(tsv)
    for participant, tsvs in sorted(by_participant.items()):
        run_frames, run_r = [], {key: [] for key in _R_KEYS}
        for tsv in tsvs:
            df = pd.read_csv(tsv, sep="\t", na_values="n/a")
            if "scored" in df:  # frames not scored: run start, incomplete context
                df = df[df["scored"] == 1].drop(columns=["scored"])
            df.insert(0, "run", tsv.name.replace("_desc-eeg2fmri_metrics.tsv", ""))
            df.insert(0, "participant_id", participant)
            run_frames.append(df)
            meta_path = tsv.with_suffix(".json")
            summary = {}
            if meta_path.exists():
                summary = json.loads(meta_path.read_text()).get("Summary", {}) or {}
            for key in _R_KEYS:
                run_r[key].append(summary.get(key))
        df = pd.concat(run_frames, ignore_index=True)
        frames.append(df)
        row = {
            "participant_id": participant,
            "n_runs": len(tsvs),
            "n_volumes": len(df),
        }
        for name in ("ssim", "psnr"):
            row[name] = df[name].mean() if name in df else np.nan
            key = f"{name}_baseline"
            row[key] = df[key].mean() if key in df else np.nan
        row.update({key: _nanmean(values) for key, values in run_r.items()})
        rows.append(row)
    columns = ["participant_id", "n_runs", "n_volumes", "ssim", "psnr", "temporal_r",
               "ssim_baseline", "psnr_baseline", "temporal_r_baseline",
               "temporal_r_ridge", "temporal_r_signal", "temporal_r_signal_baseline",
               "temporal_r_signal_ridge"]
    table = pd.DataFrame(rows, columns=columns)
    volumes = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table, volumes


#: run-level summary keys averaged per participant: the model, the mean-volume
#: baseline and the band-power ridge, over the brain and in the signal voxels
_R_KEYS = ("temporal_r", "temporal_r_baseline", "temporal_r_ridge",
           "temporal_r_signal", "temporal_r_signal_baseline", "temporal_r_signal_ridge")


def _nanmean(values):
    values = np.array([np.nan if v is None else v for v in values], dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else np.nan


def summarize_group(table):
    """Append ``mean`` and ``std`` rows (across participants, ddof 1) to ``table``."""
    numeric = [c for c in table.columns if c not in ("participant_id",)]
    mean = {"participant_id": "mean", **table[numeric].mean(skipna=True).to_dict()}
    std = {"participant_id": "std", **table[numeric].std(skipna=True, ddof=1).to_dict()}
    return pd.concat([table, pd.DataFrame([mean, std])], ignore_index=True)


def list_eeg_only_runs(out_dir, participants=None):
    """The synthesized runs without measured BOLD (a DataFrame).

    Returns
    -------
    runs : pandas.DataFrame
        ``participant_id``, ``run`` (file stem), ``n_frames``, ``space``.
    """
    rows = []
    pattern = "sub-*/**/func/*_desc-eeg2fmri_bold.json"
    for sidecar in sorted(Path(out_dir).glob(pattern)):
        participant = sidecar.name.split("_", 1)[0]
        if participants and participant[4:] not in participants:
            continue
        try:
            meta = json.loads(sidecar.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("MeasuredBOLD", True):
            continue
        space = next((p[6:] for p in sidecar.name.split("_")
                      if p.startswith("space-")), None)
        rows.append({
            "participant_id": participant,
            "run": sidecar.name.replace("_desc-eeg2fmri_bold.json", ""),
            "n_frames": meta.get("NumberOfFrames"),
            "space": space,
        })
    return pd.DataFrame(rows, columns=["participant_id", "run", "n_frames", "space"])
