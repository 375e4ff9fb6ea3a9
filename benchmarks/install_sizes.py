"""Install size of eeg2fmri's default requirements and of each extra, in fresh venvs.

For each set (the default ``install_requires``, then ``[validate]``, ``[dev]`` and
``[docs]``) this script creates a new virtual environment, installs the pinned CPU
torch build and then ``eeg2fmri[<extra>]`` from this checkout (not editable), and
measures the size of the venv's ``site-packages`` (``du -sb``) and of the whole venv
(the validator extra adds a ~100 MB ``deno`` binary under ``bin/``).

The ``[cuda]`` extra (mamba-ssm) is not measured: it compiles CUDA kernels and does
not install on CPU-only machines.

Usage (minutes; it installs the whole stack several times)::

    nice -n 19 python benchmarks/install_sizes.py [--extras validate dev docs]

Results: ``benchmarks/results/install_sizes.json`` and ``.md`` (``--out-dir``
elsewhere).
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

ROOT = harness.REPO
TORCH_SPEC = "torch==2.13.0"


def _du_bytes(path):
    out = subprocess.run(
        ["du", "-sb", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return int(out.split()[0])


def _site_packages(venv):
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        raise RuntimeError(f"no site-packages under {venv}")
    return found[0]


def measure(extra, base, python=sys.executable):
    """Create a venv, install torch + eeg2fmri[extra], return its sizes (dict)."""
    name = extra or "default"
    venv = base / name
    if venv.exists():
        shutil.rmtree(venv)
    with harness.Stopwatch() as clock:
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, TORCH_SPEC], check=True)
        target = f"{ROOT}[{extra}]" if extra else str(ROOT)
        subprocess.run([*pip, target], check=True)
    site = _site_packages(venv)
    torch_bytes = _du_bytes(site / "torch")
    freeze = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return {
        "set": name,
        "command": f"pip install {TORCH_SPEC} && pip install "
        + (f"'eeg2fmri[{extra}]'" if extra else "eeg2fmri"),
        "site_packages_mb": round(_du_bytes(site) / 1e6, 1),
        "venv_mb": round(_du_bytes(venv) / 1e6, 1),
        "torch_mb": round(torch_bytes / 1e6, 1),
        "n_distributions": len(freeze),
        "seconds": round(clock.seconds, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", nargs="*", default=["validate", "dev", "docs"])
    parser.add_argument("--keep", action="store_true", help="keep the venvs")
    harness.add_output_arguments(parser)
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="eeg2fmri-install-sizes-"))
    rows = []
    try:
        for extra in [None, *args.extras]:
            row = measure(extra, base)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if not args.keep:
                shutil.rmtree(base / row["set"])
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    default = rows[0]["site_packages_mb"]
    for row in rows:
        row["extra_over_default_mb"] = round(row["site_packages_mb"] - default, 1)
    header = ["set", "site-packages (MB)", "of which torch (MB)", "over default (MB)",
              "whole venv (MB)", "distributions"]
    cells = [
        [r["set"], r["site_packages_mb"], r["torch_mb"], r["extra_over_default_mb"],
         r["venv_mb"], r["n_distributions"]]
        for r in rows
    ]
    table = harness.markdown_table(header, cells, "lrrrrr")
    env = harness.environment()
    harness.publish(
        "install_sizes",
        {"command": harness.command_line(__file__, argv), "rows": rows,
         "environment": env},
        table,
        out_dir=args.out_dir,
        write=not args.no_write,
        markdown=f"Python {env['python']} on {env['platform']}\n\n{table}\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
