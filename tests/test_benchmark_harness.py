"""The benchmark harness: call counts, memory peaks, atomic result files."""

import importlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def harness():
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(REPO))
        yield importlib.import_module("benchmarks.harness")


def test_time_calls_warms_up_then_times_each_repeat(harness):
    calls = []
    timing = harness.time_calls(lambda: calls.append(1) or len(calls), repeats=3)
    assert len(calls) == 4  # one warm-up call, three timed
    assert len(timing.wall) == len(timing.cpu) == 3
    assert timing.value == 4  # what the last call returned
    assert timing.best == min(timing.wall) and timing.best <= timing.median
    assert timing.cpu_of_best == timing.cpu[timing.wall.index(timing.best)]
    # a warm-up slower than slow_seconds is the only call
    calls.clear()
    slow = harness.time_calls(lambda: calls.append(1), repeats=5, slow_seconds=-1.0)
    assert len(calls) == 1 and len(slow.wall) == 1
    with pytest.raises(ValueError, match="repeats: expected an integer >= 1"):
        harness.time_calls(lambda: None, repeats=0)


def test_traced_peak_counts_the_arrays_allocated_inside_the_block(harness):
    before = np.ones(4_000_000)  # 32 MB allocated before the block: not counted
    with harness.TracedPeak() as peak:
        inside = np.ones(1_000_000)  # 8 MB
        del inside
    assert 8e6 <= peak.bytes < before.nbytes


def test_publish_writes_json_and_markdown_atomically(harness, tmp_path, capsys):
    doc = {"results": [{"x": np.float32(1.5), "shape": (2, 3)}]}
    paths = harness.publish("bench", doc, "| a |\n|---|", out_dir=tmp_path / "out")
    assert [p.name for p in paths] == ["bench.json", "bench.md"]
    saved = json.loads(paths[0].read_text())
    assert saved["results"] == [{"x": 1.5, "shape": [2, 3]}]
    env = saved["environment"]
    assert env["cpu_count"] >= 1 and env["versions"]["eeg2fmri"]
    assert set(harness.THREAD_VARIABLES) <= set(env["threads"])
    assert paths[1].read_text() == "| a |\n|---|\n"
    assert "| a |" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "bench.json", "bench.md"
    ]  # no temporary files left
    # print only
    assert harness.publish("other", doc, "t", out_dir=tmp_path, write=False) == []
    assert not (tmp_path / "other.json").exists()


def test_a_failed_write_leaves_the_previous_file(harness, tmp_path):
    path = tmp_path / "r.json"
    harness.write_json_atomic(path, {"a": 1})
    with pytest.raises(TypeError, match="not JSON serializable: object"):
        harness.write_json_atomic(path, {"a": object()})
    with pytest.raises(RuntimeError, match="interrupted"):
        with harness.atomic_path(path) as tmp:
            tmp.write_text('{"a": 2, "trunc')
            raise RuntimeError("interrupted")
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_output_options_and_legacy_json_path(harness):
    import argparse

    parser = argparse.ArgumentParser()
    harness.add_output_arguments(parser, json_option="--output", name="x")
    args = parser.parse_args([])
    assert harness.output_target(args, "x") == (harness.RESULTS, "x")
    args = parser.parse_args(["--out-dir", "/tmp/a"])
    assert harness.output_target(args, "x") == (Path("/tmp/a"), "x")
    args = parser.parse_args(["--output", "/tmp/b/y.json"])
    assert harness.output_target(args, "x") == (Path("/tmp/b"), "y")


def test_markdown_table_and_command_line(harness):
    table = harness.markdown_table(["a", "b"], [[1, "x"]], "lr")
    assert table == "| a | b |\n|---|---:|\n| 1 | x |"
    with pytest.raises(ValueError, match="align: expected 2 characters, got 1"):
        harness.markdown_table(["a", "b"], [], "l")
    script = REPO / "benchmarks" / "bench_models.py"
    assert harness.command_line(script, ["--models", "a b"]) == (
        "python benchmarks/bench_models.py --models 'a b'"
    )
    assert harness.command_line(["python", "-m", "m"], []) == "python -m m"


def test_run_worker_returns_the_last_json_line_or_the_error(harness, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(
        "import json, sys\n"
        "payload = json.loads(sys.argv[2])\n"
        "if payload['fail']:\n"
        "    raise SystemExit('bad case')\n"
        "print('noise')\n"
        "print(json.dumps({'double': 2 * payload['x']}))\n"
    )
    assert harness.run_worker(script, {"x": 3, "fail": False}) == {"double": 6}
    failed = harness.run_worker(script, {"x": 3, "fail": True})
    assert failed["error"] == ["bad case"] and failed["x"] == 3
    with pytest.raises(RuntimeError, match="bad case"):
        harness.run_worker(script, {"x": 3, "fail": True}, check=True)


def test_run_parallel_in_process_restores_the_thread_settings(harness, monkeypatch):
    import torch

    monkeypatch.delenv("EEG2FMRI_SCAN_THREADS", raising=False)
    threads = torch.get_num_threads()
    seen = []

    def record(item):
        seen.append((torch.get_num_threads(), os.environ.get("EEG2FMRI_SCAN_THREADS")))
        return item * 2

    assert sorted(harness.run_parallel(record, [1, 2], jobs=1)) == [2, 4]
    assert seen == [(1, "1"), (1, "1")]
    assert torch.get_num_threads() == threads
    assert "EEG2FMRI_SCAN_THREADS" not in os.environ
