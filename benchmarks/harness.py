"""What every benchmark script shares: timing, peak memory, environment, result files.

- Timing: :func:`time_calls` (best and median of repeated calls after warm-up calls,
  wall and process CPU seconds) and :class:`Stopwatch` (one block).
- Peak memory: :class:`TracedPeak` (tracemalloc: Python and numpy allocations made
  inside a block), :func:`peak_rss_bytes` (the process's resident-set high-water
  mark), :func:`current_rss_bytes` and :class:`MemorySampler` (RssAnon / VmRSS
  sampled from ``/proc``); :func:`run_worker` runs a case in a fresh process so that
  its peak is its own.
- Environment: :func:`environment` (versions, CPUs, thread settings, load average,
  git commit, date), stored in every result file under ``"environment"``.
- Output: :func:`publish` prints a Markdown table and writes ``<name>.json`` and
  ``<name>.md`` atomically (temporary file + rename) into ``--out-dir``
  (:func:`add_output_arguments`; default ``benchmarks/results``).
- Parallel fits: :func:`run_parallel` (spawned single-thread workers).
"""

import argparse
import concurrent.futures
import contextlib
import json
import math
import multiprocessing
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
RESULTS = BENCHMARKS / "results"
#: Environment variables that set thread counts (recorded in every result file).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "EEG2FMRI_SCAN_THREADS")
#: Distributions whose versions :func:`environment` records (with eeg2fmri's).
PACKAGES = ("numpy", "scipy", "torch", "scikit-learn", "pandas", "mne", "nibabel")


# ------------------------------------------------------------------------ timing


@dataclass(frozen=True)
class Timing:
    """Wall and process CPU seconds of the timed calls (warm-up calls excluded).

    Attributes
    ----------
    wall, cpu : tuple of float of shape (n_calls,)
    value : object
        What the last call returned.
    """

    wall: tuple
    cpu: tuple
    value: object = None

    @property
    def best(self):
        """Shortest wall time (seconds)."""
        return min(self.wall)

    @property
    def median(self):
        """Median wall time (seconds)."""
        return statistics.median(self.wall)

    @property
    def cpu_of_best(self):
        """Process CPU seconds (all threads) of the fastest call."""
        return self.cpu[self.wall.index(self.best)]


def _timed_call(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def time_calls(fn, repeats=3, warmup=1, slow_seconds=None):
    """Call ``fn()`` ``warmup`` times untimed, then ``repeats`` times timed.

    Parameters
    ----------
    fn : callable
        Called without arguments.
    repeats : int, default=3
        Timed calls (at least 1).
    warmup : int, default=1
        Calls before the timed ones.
    slow_seconds : float, optional
        When a warm-up call takes longer, it is the only call timed (too slow to
        repeat).

    Returns
    -------
    timing : Timing
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected an integer >= 1, got {repeats!r}")
    value = None
    for _ in range(warmup):
        wall, cpu, value = _timed_call(fn)
        if slow_seconds is not None and wall > slow_seconds:
            return Timing((wall,), (cpu,), value)
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu, value = _timed_call(fn)
        walls.append(wall)
        cpus.append(cpu)
    return Timing(tuple(walls), tuple(cpus), value)


class Stopwatch:
    """Wall seconds of a ``with`` block: ``seconds`` after it, ``elapsed`` during it."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = None
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start

    @property
    def elapsed(self):
        return time.perf_counter() - self.start


# ------------------------------------------------------------------------ memory


class TracedPeak:
    """Peak bytes of Python allocations made inside a ``with`` block (tracemalloc).

    numpy reports its buffers to tracemalloc, so this is the peak of the arrays
    allocated in the block; what existed before it is not counted. ``bytes`` is set
    on exit.
    """

    def __enter__(self):
        tracemalloc.start()
        self.bytes = None
        return self

    def __exit__(self, *exc):
        _, self.bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()


def peak_rss_bytes():
    """The process's peak resident set size so far, in bytes.

    ``VmHWM`` of ``/proc/self/status`` on Linux: it starts anew with the process
    image, whereas ``ru_maxrss`` survives ``fork`` + ``exec`` and would report the
    parent's peak for a worker started by a large process; ``ru_maxrss`` elsewhere.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # KiB on Linux


def current_rss_bytes():
    """The process's resident set size now (``/proc/self/statm``), NaN elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return math.nan


class MemorySampler:
    """Peak RssAnon and VmRSS of this process, sampled every ``interval`` s (Linux).

    RssAnon is what the process allocates; VmRSS adds file pages (memory maps),
    which the kernel can reclaim. Use as a ``with`` block; ``peak_anon`` and
    ``peak_rss`` are in bytes.
    """

    def __init__(self, interval=0.05):
        self.interval = interval
        self.peak_anon = self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    self.peak_anon = max(self.peak_anon, int(line.split()[1]) * 1024)
                elif line.startswith("VmRSS:"):
                    self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


# ------------------------------------------------------------- worker processes


def add_worker_argument(parser):
    """The hidden ``--worker JSON`` option with which :func:`run_worker` calls a
    script."""
    parser.add_argument("--worker", help=argparse.SUPPRESS)


def run_worker(script, payload, *, env=None, check=False):
    """Run ``python <script> --worker <payload as JSON>`` in a fresh process.

    The script prints its result as JSON on its last line of standard output
    (:func:`print_json_line`). A fresh process gives the case its own peak memory.

    Parameters
    ----------
    script : str or Path
    payload : dict
        Passed to the worker as JSON.
    env : dict, optional
        Environment variables set in the worker (added to this process's).
    check : bool, default=False
        Raise on failure; otherwise return ``{**payload, "error": [last stderr line]}``.

    Returns
    -------
    result : dict
    """
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", json.dumps(payload)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode:
        tail = proc.stderr.strip().splitlines()[-1:]
        if check:
            raise RuntimeError(f"worker {script} {payload} failed: {' '.join(tail)}")
        return {**payload, "error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_json_line(obj):
    """Print ``obj`` as one JSON line (a worker's result)."""
    print(json.dumps(obj, default=_json_default), flush=True)


def limit_threads():
    """One thread for torch and for eeg2fmri's selective scan (worker initializer)."""
    os.environ["EEG2FMRI_SCAN_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


@contextlib.contextmanager
def _threads_restored():
    """Restore torch's thread count and ``EEG2FMRI_SCAN_THREADS`` after the block."""
    import torch

    threads, scan = torch.get_num_threads(), os.environ.get("EEG2FMRI_SCAN_THREADS")
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        if scan is None:
            os.environ.pop("EEG2FMRI_SCAN_THREADS", None)
        else:
            os.environ["EEG2FMRI_SCAN_THREADS"] = scan


def run_parallel(fn, items, jobs, initializer=limit_threads):
    """Yield ``fn(item)`` for every item, in the order they finish.

    ``jobs == 1``: in this process, after ``initializer()`` (torch's thread count
    and ``EEG2FMRI_SCAN_THREADS`` are restored afterwards); else in ``jobs`` spawned
    processes that each run ``initializer`` first (``fn`` must be importable).
    """
    items = list(items)
    if jobs == 1:
        with _threads_restored():
            if initializer is not None:
                initializer()
            for item in items:
                yield fn(item)
        return
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=ctx, initializer=initializer
    ) as pool:
        futures = [pool.submit(fn, item) for item in items]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()


# ------------------------------------------------------------------- environment


def git_commit():
    """HEAD's commit, with ``-dirty`` when eeg2fmri or benchmarks are modified."""

    def git(*cmd):
        return subprocess.run(
            ["git", "-C", str(REPO), *cmd], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--", "eeg2fmri", "benchmarks")
        return git("rev-parse", "HEAD") + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def _distribution_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment(packages=PACKAGES):
    """Where and when a benchmark ran.

    Returns
    -------
    env : dict
        ``date`` (UTC), ``git_commit``, ``python``, ``platform``, ``processor``,
        ``cpu_count``, ``load_average`` (1, 5, 15 min), ``threads`` (the
        :data:`THREAD_VARIABLES` and torch's thread count when torch is imported),
        ``versions`` (eeg2fmri and ``packages``) and ``peak_rss_bytes`` of this
        process so far.
    """
    import eeg2fmri

    threads = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    if "torch" in sys.modules:
        threads["torch"] = sys.modules["torch"].get_num_threads()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "threads": threads,
        "versions": {
            "eeg2fmri": eeg2fmri.__version__,
            **{name: _distribution_version(name) for name in packages},
        },
        "peak_rss_bytes": peak_rss_bytes(),
    }


def environment_line(env):
    """One sentence for a Markdown report: versions, CPUs, threads, load, commit."""
    v = env["versions"]
    threads = ", ".join(f"{k}={val}" for k, val in env["threads"].items() if val)
    load = env["load_average"]
    load = ", ".join(f"{x:.1f}" for x in load) if load else "n/a"
    return (
        f"{env['date']}; Python {env['python']}, eeg2fmri {v['eeg2fmri']}, torch "
        f"{v.get('torch')}, numpy {v.get('numpy')}; {env['cpu_count']} CPUs "
        f"({env['processor']}); threads: {threads or 'defaults'}; load average at "
        f"the end {load}; commit `{env['git_commit']}`."
    )


def command_line(program, argv=None):
    """The command that ran, as a shell string: ``python benchmarks/x.py ...``.

    ``program`` is a script path (shown relative to the repository) or a list of
    words (``["python", "-m", "benchmarks.study"]``); ``argv`` defaults to
    ``sys.argv[1:]``.
    """
    if isinstance(program, (str, Path)):
        path = Path(program).resolve()
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        program = ["python", str(shown)]
    return shlex.join([*program, *(sys.argv[1:] if argv is None else argv)])


# ------------------------------------------------------------------------ output


def markdown_table(header, rows, align=None):
    """A Markdown table; ``align`` is one character per column, ``'l'`` or ``'r'``."""
    align = align or "l" * len(header)
    if len(align) != len(header):
        raise ValueError(
            f"align: expected {len(header)} characters, got {len(align)} ({align!r})"
        )
    rule = "|" + "".join("---:|" if a == "r" else "---|" for a in align)
    lines = ["| " + " | ".join(map(str, header)) + " |", rule]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def _json_default(obj):
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    if isinstance(obj, (Path, set, frozenset)):
        return str(obj) if isinstance(obj, Path) else sorted(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; renamed to ``path`` if the block
    succeeds, removed if it fails (readers never see a partial file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path, obj):
    """Write ``obj`` as indented JSON (numpy values converted) to ``path``
    atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def add_output_arguments(parser, out_dir_aliases=(), json_option=None, name=None):
    """``--out-dir`` (default ``benchmarks/results``) and ``--no-write``.

    ``json_option`` (e.g. ``"--output"``) adds an option naming the JSON file itself
    (the Markdown file goes beside it), for scripts that had one; ``name`` is the
    default stem shown in its help. :func:`output_target` reads both.
    """
    parser.add_argument(
        "--out-dir",
        *out_dir_aliases,
        dest="out_dir",
        type=Path,
        default=RESULTS,
        help="folder of the result files (default: benchmarks/results; give a "
        "scratch folder for trial runs)",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print the table, write nothing"
    )
    if json_option:
        parser.add_argument(
            json_option,
            dest="json_path",
            type=Path,
            default=None,
            help=f"JSON results file (default: <out-dir>/{name}.json; the .md "
            "beside it)",
        )


def output_target(args, name):
    """``(folder, stem)`` of the result files: the JSON option's when given."""
    path = getattr(args, "json_path", None)
    if path is not None:
        return path.parent, path.stem
    return Path(args.out_dir), name


def publish(name, doc, table, *, out_dir=RESULTS, write=True, markdown=None):
    """Print ``table``; write ``<out_dir>/<name>.json`` and ``<name>.md``.

    Parameters
    ----------
    name : str
        Stem of the result files.
    doc : dict
        The JSON document; ``"environment"`` (:func:`environment`) is added unless
        present.
    table : str
        Printed.
    out_dir : Path, default=benchmarks/results
    write : bool, default=True
        False: print only.
    markdown : str, optional
        The Markdown file's text (default: ``table``).

    Returns
    -------
    paths : list of Path
        The files written.
    """
    print(table, flush=True)
    if not write:
        return []
    doc = {**doc, "environment": doc.get("environment") or environment()}
    paths = [Path(out_dir) / f"{name}.json", Path(out_dir) / f"{name}.md"]
    write_json_atomic(paths[0], doc)
    text = table if markdown is None else markdown
    write_text_atomic(paths[1], text if text.endswith("\n") else text + "\n")
    print("wrote " + " and ".join(map(str, paths)), flush=True)
    return paths

