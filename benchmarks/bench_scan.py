"""Benchmark the selective-scan backends at the four VM-UNet stage shapes.

For each stage of the official Spec2VolCAMU-Net decoder (batch 8, K = 4 scan
directions x d_inner = 2 * dim channels for dims 96/192/384/768, so
KD = 768/1536/3072/6144, L = 256/64/16/4 tokens, d_state 16, grouped B/C with one
group per direction, D, delta_bias and softplus as in SS2D) and each backend, this
measures:

* forward and forward+backward seconds (median of ``--repeats`` calls after one
  warm-up call; a call slower than ``--slow-seconds`` is timed once, warm-up
  included);
* peak memory: the rise of the process's peak RSS over the RSS after creating the
  inputs (every (stage, backend) runs in its own subprocess, forward first);
* the speed-up over ``mamba_ref``, a port of mamba-ssm's pure-PyTorch
  ``selective_scan_ref`` (the CPU fallback mamba-ssm points to; mamba-ssm itself
  cannot be installed on a CPU-only machine without workarounds): it precomputes
  ``deltaA`` and ``deltaB_u`` as (b, d, l, n) tensors and indexes them step by
  step, which makes autograd's backward quadratic in L;
* the fraction of the arithmetic limit reached: scan flops (VMamba's count,
  ``9 * B * L * KD * N + B * KD * L`` forward, about twice that for backward) per
  second, divided by the flops per second of a float32 2048 x 2048 matmul measured
  in the same run.

Backends: ``mamba_ref`` (the port), ``reference`` (eeg2fmri's readable loop),
``cpu`` (eeg2fmri's fast pure-PyTorch scan) and ``cuda`` (only with a GPU and
mamba-ssm).

Usage::

    python benchmarks/bench_scan.py                      # all stages and backends
    python benchmarks/bench_scan.py --stages 1 --backends cpu mamba_ref --repeats 3
    python benchmarks/bench_scan.py --scan-threads 1   # cpu backend single-threaded

Writes ``benchmarks/results/scan.json`` and ``scan.md`` (``--out-dir``) and prints
the Markdown table. The machine is shared: rerun on a quiet machine for final
numbers, and pin the thread count with ``--threads`` (default 2).
"""

import argparse
import json
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

#: stage -> (dim, L): KD = 4 directions * 2 * dim
STAGES = {1: (96, 256), 2: (192, 64), 3: (384, 16), 4: (768, 4)}
N_DIRECTIONS = 4
ALL_BACKENDS = ("mamba_ref", "reference", "cpu", "cuda")


# --------------------------------------------------------------------------------------
# The baseline: mamba-ssm's selective_scan_ref algorithm (state-spaces/mamba,
# mamba_ssm/ops/selective_scan_interface.py), re-typed here without einops; real
# inputs only, no z gate, no last state.
# --------------------------------------------------------------------------------------
def mamba_ref_port(u, delta, A, B, C, D=None, delta_bias=None, delta_softplus=False):
    """mamba-ssm's ``selective_scan_ref`` algorithm for real A and variable B/C.

    Parameters
    ----------
    u, delta : Tensor of shape (batch, d, L)
    A : Tensor of shape (d, n)
    B, C : Tensor of shape (batch, g, n, L) or (batch, n, L)
    D, delta_bias : Tensor of shape (d,), optional
    delta_softplus : bool

    Returns
    -------
    out : Tensor of shape (batch, d, L)
    """
    dtype_in = u.dtype
    u, delta = u.float(), delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias[..., None].float()
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, dstate = u.shape[0], A.shape[0], A.shape[1]
    B, C = B.float(), C.float()
    x = A.new_zeros((batch, dim, dstate))
    ys = []
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    if B.dim() == 3:
        deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    else:
        B = B.repeat_interleave(dim // B.shape[1], dim=1)  # "B G N L -> B (G H) N L"
        deltaB_u = torch.einsum("bdl,bdnl,bdl->bdln", delta, B, u)
    if C.dim() == 4:
        C = C.repeat_interleave(dim // C.shape[1], dim=1)
    for i in range(u.shape[2]):
        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
        if C.dim() == 3:
            y = torch.einsum("bdn,bn->bd", x, C[:, :, i])
        else:
            y = torch.einsum("bdn,bdn->bd", x, C[:, :, :, i])
        ys.append(y)
    y = torch.stack(ys, dim=2)  # (batch, dim, L)
    out = y if D is None else y + u * D[:, None]
    return out.to(dtype=dtype_in)


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------
def make_inputs(batch, n_channels, length, d_state, n_groups, random_state=0):
    """SS2D-like float32 inputs (Mamba init: A = -(1..N), dt log-uniform 1e-3..0.1).

    Returns
    -------
    inputs : list of Tensor
        u, delta (batch, KD, L); A (KD, N); B, C (batch, G, N, L); D, delta_bias
        (KD,); all leaf tensors with ``requires_grad=True``.
    """
    gen = torch.Generator().manual_seed(random_state)
    u = torch.randn(batch, n_channels, length, generator=gen)
    delta = 0.5 * torch.randn(batch, n_channels, length, generator=gen)
    A = -torch.arange(1, d_state + 1, dtype=torch.float32).repeat(n_channels, 1)
    B = torch.randn(batch, n_groups, d_state, length, generator=gen)
    C = torch.randn(batch, n_groups, d_state, length, generator=gen)
    D = torch.ones(n_channels)
    dt = torch.exp(
        torch.empty(n_channels).uniform_(-6.907755, -2.302585, generator=gen)
    )
    bias = dt + torch.log(-torch.expm1(-dt))
    return [t.requires_grad_() for t in (u, delta, A, B, C, D, bias)]


def scan_flops(batch, n_channels, length, d_state):
    """VMamba's forward flop count of one selective scan."""
    return 9 * batch * length * n_channels * d_state + batch * n_channels * length


def matmul_gflops(n=2048, repeats=5):
    """Best float32 ``n x n`` matmul throughput in GFLOP/s (the arithmetic limit)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = harness.time_calls(lambda: torch.matmul(a, b), repeats).best  # 1 warm-up
    return 2 * n**3 / best / 1e9


def get_backend(name):
    if name == "mamba_ref":
        return mamba_ref_port
    from eeg2fmri.ops import selective_scan

    return lambda *args, **kw: selective_scan(*args, backend=name, **kw)


# --------------------------------------------------------------------------------------
# One (stage, backend) cell, run in a subprocess
# --------------------------------------------------------------------------------------
def run_cell(cell):
    torch.set_num_threads(cell["threads"])
    scan = get_backend(cell["backend"])
    inputs = make_inputs(
        cell["batch"], cell["n_channels"], cell["length"], cell["d_state"], N_DIRECTIONS
    )
    if cell["backend"] == "cuda":
        inputs = [t.detach().cuda().requires_grad_() for t in inputs]

    def sync():
        if cell["backend"] == "cuda":
            torch.cuda.synchronize()

    def forward():
        with torch.no_grad():
            scan(*inputs, delta_softplus=True)
        sync()

    def forward_backward():
        y = scan(*inputs, delta_softplus=True)
        y.backward(torch.ones_like(y))
        sync()
        for t in inputs:
            t.grad = None

    # median of the repeats after one warm-up; a warm-up slower than slow_seconds is
    # the only call timed
    rss0 = harness.current_rss_bytes()
    fwd = harness.time_calls(forward, cell["repeats"], 1, cell["slow_seconds"])
    peak_fwd = harness.peak_rss_bytes() - rss0
    fb = harness.time_calls(forward_backward, cell["repeats"], 1, cell["slow_seconds"])
    peak_fb = harness.peak_rss_bytes() - rss0
    return dict(
        cell,
        fwd_s=fwd.median,
        fwd_bwd_s=fb.median,
        fwd_times=list(fwd.wall),
        fwd_bwd_times=list(fb.wall),
        peak_rss_fwd_mb=peak_fwd / 2**20,
        peak_rss_fwd_bwd_mb=peak_fb / 2**20,
    )


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------
def fmt(x, spec):
    return "–" if x is None else format(x, spec)


def markdown_table(rows, anchor):
    lines = [
        "| stage | B, KD, L, N | backend | fwd s | fwd+bwd s | fwd+bwd × vs mamba_ref "
        "| fwd × vs mamba_ref | fwd GFLOP/s (% matmul) | fwd+bwd GFLOP/s (% matmul) "
        "| peak RSS fwd / fwd+bwd MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        shape = f"{r['batch']}, {r['n_channels']}, {r['length']}, {r['d_state']}"
        if "error" in r:
            lines.append(
                f"| {r['stage']} | {shape} | {r['backend']} | error: "
                f"{' '.join(r['error'])} | | | | | | |"
            )
            continue
        lines.append(
            f"| {r['stage']} | {shape} | {r['backend']} | {r['fwd_s']:.4f} "
            f"| {r['fwd_bwd_s']:.4f} | {fmt(r.get('speedup_fwd_bwd'), '.0f')} "
            f"| {fmt(r.get('speedup_fwd'), '.1f')} "
            f"| {r['fwd_gflops']:.2f} ({100 * r['fwd_fraction']:.2f} %) "
            f"| {r['fwd_bwd_gflops']:.2f} ({100 * r['fwd_bwd_fraction']:.2f} %) "
            f"| {r['peak_rss_fwd_mb']:.0f} / {r['peak_rss_fwd_bwd_mb']:.0f} |"
        )
    lines.append("")
    lines.append(
        f"Arithmetic limit: float32 2048×2048 matmul at {anchor:.1f} GFLOP/s in the "
        "same run. Scan flops: 9·B·L·KD·N + B·KD·L forward, 3× that for "
        "forward+backward."
    )
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stages", type=int, nargs="+", default=sorted(STAGES),
                   choices=sorted(STAGES), help="VM-UNet stages to run (1-4)")
    p.add_argument("--backends", nargs="+", default=None, choices=ALL_BACKENDS,
                   help="backends (default: every available one)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per cell")
    p.add_argument("--slow-seconds", type=float, default=10.0,
                   help="time a call only once when its warm-up exceeds this")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--d-state", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--scan-threads", type=int, default=None,
                   help="set EEG2FMRI_SCAN_THREADS (threads inside the cpu backend)")
    harness.add_output_arguments(p)
    harness.add_worker_argument(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        harness.print_json_line(run_cell(json.loads(args.worker)))
        return 0
    torch.set_num_threads(args.threads)
    if args.scan_threads is not None:  # inherited by the worker subprocesses
        os.environ["EEG2FMRI_SCAN_THREADS"] = str(args.scan_threads)
    from eeg2fmri.ops import available_backends

    backends = args.backends or [
        b for b in ALL_BACKENDS if b == "mamba_ref" or b in available_backends()
    ]
    anchor = matmul_gflops()
    print(f"float32 matmul 2048: {anchor:.1f} GFLOP/s ({args.threads} threads)",
          flush=True)
    rows = []
    for stage in args.stages:
        dim, length = STAGES[stage]
        n_channels = N_DIRECTIONS * 2 * dim
        for backend in backends:
            cell = dict(
                stage=stage, backend=backend, batch=args.batch, n_channels=n_channels,
                length=length, d_state=args.d_state, repeats=args.repeats,
                slow_seconds=args.slow_seconds, threads=args.threads,
            )
            row = harness.run_worker(__file__, cell)
            rows.append(row)
            if "error" in row:
                print(f"stage {stage} {backend}: error {row['error']}", flush=True)
                continue
            flops = scan_flops(args.batch, n_channels, length, args.d_state)
            row["fwd_gflops"] = flops / row["fwd_s"] / 1e9
            row["fwd_bwd_gflops"] = 3 * flops / row["fwd_bwd_s"] / 1e9
            row["fwd_fraction"] = row["fwd_gflops"] / anchor
            row["fwd_bwd_fraction"] = row["fwd_bwd_gflops"] / anchor
            print(f"stage {stage} {backend}: fwd {row['fwd_s']:.4f} s, "
                  f"fwd+bwd {row['fwd_bwd_s']:.4f} s", flush=True)
    for r in rows:
        base = next((b for b in rows if b["stage"] == r["stage"]
                     and b["backend"] == "mamba_ref" and "error" not in b), None)
        if base is not None and "error" not in r:
            r["speedup_fwd"] = base["fwd_s"] / r["fwd_s"]
            r["speedup_fwd_bwd"] = base["fwd_bwd_s"] / r["fwd_bwd_s"]
    table = markdown_table(rows, anchor)
    target = next((r for r in rows if r["stage"] == 1 and r["backend"] == "cpu"
                   and "speedup_fwd_bwd" in r), None)
    verdict = None
    if target is not None:
        ok = target["speedup_fwd_bwd"] >= 50 and target["fwd_bwd_s"] < 0.8
        verdict = (
            f"Target (stage 1, cpu, forward+backward: >= 50x mamba_ref and < 0.8 s): "
            f"{'met' if ok else 'NOT met'} ({target['speedup_fwd_bwd']:.0f}x, "
            f"{target['fwd_bwd_s']:.3f} s)."
        )
        table += "\n\n" + verdict
    print()
    env = harness.environment()
    meta = dict(
        command=harness.command_line(__file__, argv),
        threads=args.threads,
        matmul_gflops=anchor,
        target=verdict,
        thp_mem_alloc_enable=os.environ.get("THP_MEM_ALLOC_ENABLE"),
        scan_threads=os.environ.get("EEG2FMRI_SCAN_THREADS"),
    )
    header = (
        "# Selective-scan benchmark\n\n"
        f"{args.threads} torch threads (EEG2FMRI_SCAN_THREADS={meta['scan_threads']}); "
        f"{harness.environment_line(env)}\n"
        f"Command: `{meta['command']}`\n\n"
    )
    harness.publish(
        "scan", dict(meta=meta, rows=rows, environment=env), table,
        out_dir=args.out_dir, write=not args.no_write, markdown=header + table + "\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
