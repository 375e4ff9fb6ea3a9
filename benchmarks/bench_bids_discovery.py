"""Benchmark: finding paired EEG/BOLD runs, eeg2fmri's scanner vs pybids' BIDSLayout.

A placeholder dataset (empty data files, real JSON sidecars, anat files that pairing
does not need) with ``--subjects`` subjects x 2 sessions x 2 runs is written to a
temporary folder. We time :func:`eeg2fmri.bids.find_paired_runs` (including the merged
sidecar metadata of every pair) against ``BIDSLayout(root, validate=False)`` plus the
queries and ``get_metadata`` calls needed for the same answer, and against
``find_paired_runs(BIDSLayout(root, validate=False))`` (pybids lists and filters the
files, eeg2fmri pairs them), checking that it finds the same runs as the scanner. Best
of ``--repeat`` runs.

Run: ``python benchmarks/bench_bids_discovery.py`` (writes
``benchmarks/results/bids_discovery.json`` and ``.md``; ``--out-dir`` elsewhere).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness
from eeg2fmri.bids import find_paired_runs


def write_placeholder_dataset(root, n_subjects):
    root = Path(root)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "bench", "BIDSVersion": "1.9.0"})
    )
    (root / "task-rest_bold.json").write_text(json.dumps({"RepetitionTime": 2.0}))
    (root / "task-rest_eeg.json").write_text(json.dumps({"SamplingFrequency": 250}))
    for s in range(1, n_subjects + 1):
        for ses in ("1", "2"):
            base = root / f"sub-{s:02d}" / f"ses-{ses}"
            for d in ("eeg", "func", "anat"):
                (base / d).mkdir(parents=True, exist_ok=True)
            (base / "anat" / f"sub-{s:02d}_ses-{ses}_T1w.nii.gz").write_bytes(b"")
            for run in ("1", "2"):
                stem = f"sub-{s:02d}_ses-{ses}_task-rest_run-{run}"
                for ext in (".vhdr", ".vmrk", ".eeg"):
                    (base / "eeg" / f"{stem}_eeg{ext}").write_bytes(b"")
                (base / "eeg" / f"{stem}_channels.tsv").write_text(
                    "name\ttype\tunits\n"
                )
                (base / "func" / f"{stem}_bold.nii.gz").write_bytes(b"")
                (base / "func" / f"{stem}_bold.json").write_text('{"EchoTime": 0.03}')
    return root


def with_pybids(root):
    from bids import BIDSLayout

    layout = BIDSLayout(root, validate=False)
    eegs = layout.get(suffix="eeg", extension=".vhdr")
    bolds = {
        (b.entities.get("subject"), b.entities.get("session"), b.entities.get("run")): b
        for b in layout.get(suffix="bold", extension=".nii.gz")
    }
    pairs = []
    for e in eegs:
        key = (
            e.entities.get("subject"),
            e.entities.get("session"),
            e.entities.get("run"),
        )
        if key in bolds:
            pairs.append((e.path, bolds[key].path, bolds[key].get_metadata()))
    return len(pairs)


def via_layout(root):
    """find_paired_runs on a pybids layout: (eeg, bold) paths of the runs found."""
    from bids import BIDSLayout

    report = find_paired_runs(BIDSLayout(root, validate=False))
    return [(r.eeg_path, r.bold_path) for r in report.runs]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[5, 50])
    parser.add_argument("--repeat", type=int, default=3)
    harness.add_output_arguments(parser, out_dir_aliases=("--out",))
    args = parser.parse_args(argv)
    rows = []
    for n_sub in args.subjects:
        with tempfile.TemporaryDirectory() as tmp:
            root = write_placeholder_dataset(tmp, n_sub)

            def best(fn, root=root):
                timing = harness.time_calls(lambda: fn(root), args.repeat, warmup=0)
                return timing.best, timing.value

            ours, n_ours = best(lambda r: len(find_paired_runs(r).runs))
            theirs, n_theirs = best(with_pybids)
            layout_s, pairs = best(via_layout)
            same = pairs == [
                (r.eeg_path, r.bold_path) for r in find_paired_runs(root).runs
            ]
        rows.append(
            dict(
                subjects=n_sub,
                runs=n_ours,
                eeg2fmri_s=round(ours, 4),
                pybids_s=round(theirs, 4),
                pybids_runs=n_theirs,
                eeg2fmri_on_layout_s=round(layout_s, 4),
                eeg2fmri_on_layout_same_runs=same,
            )
        )
    header = ["subjects", "runs", "eeg2fmri s", "pybids s (runs)",
              "eeg2fmri on a BIDSLayout s", "same runs"]
    cells = [
        [r["subjects"], r["runs"], f"{r['eeg2fmri_s']:.3f}",
         f"{r['pybids_s']:.3f} ({r['pybids_runs']})",
         f"{r['eeg2fmri_on_layout_s']:.3f}", r["eeg2fmri_on_layout_same_runs"]]
        for r in rows
    ]
    table = harness.markdown_table(header, cells, "rrrrrl")
    command = harness.command_line(__file__, argv)
    harness.publish(
        "bids_discovery",
        dict(benchmark="bids_discovery", command=command, repeat=args.repeat,
             rows=rows),
        table,
        out_dir=args.out_dir,
        write=not args.no_write,
        markdown=f"# Finding paired runs: eeg2fmri vs pybids\n\n`{command}`; best of "
        f"{args.repeat} runs.\n\n{table}\n",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
