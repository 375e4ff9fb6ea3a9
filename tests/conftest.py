"""Shared fixtures: one small simulated EEG-fMRI BIDS dataset for the whole session."""

from pathlib import Path

import numpy as np
import pytest

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"

#: Keyword arguments of the session dataset: tiny, but every part of the pipeline runs.
SIM_KWARGS = dict(
    preset="noddi",
    n_subjects=3,
    n_volumes=40,
    n_channels=16,
    bold_shape=(8, 16, 16),
    random_state=0,
)


def pytest_addoption(parser):
    parser.addoption(
        "--run-expensive",
        action="store_true",
        default=False,
        help="also run the checks of the full-size networks (minutes each on a CPU)",
    )


@pytest.fixture(scope="session")
def sim_bids(tmp_path_factory):
    """Path to a simulated noddi-like BIDS dataset (3 subjects, 40 volumes each).

    Tests must not modify it; copy it first (``shutil.copytree``) to break it.
    """
    from eeg2fmri.simulate import simulate_dataset

    return simulate_dataset(tmp_path_factory.mktemp("sim") / "bids", **SIM_KWARGS)


@pytest.fixture
def rng():
    """A seeded numpy Generator."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def realdata():
    """Path to ``../shared/realdata``; skips the test when the folder is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real recordings not found at {REALDATA}")
    return REALDATA


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module of tiny models (``pytestmark =
    pytest.mark.usefixtures("one_torch_thread")``): they run fastest single-threaded,
    and OpenMP barriers stall on a shared CPU."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def sim_pairs_small(sim_bids, tmp_path_factory):
    """The session dataset's pairs: 3 participants, 4 context windows, 32 bins."""
    from eeg2fmri.features import FeatureParams, build_dataset

    work = tmp_path_factory.mktemp("pairs")
    return build_dataset(sim_bids, FeatureParams(n_context=4, n_freqs=32),
                         work_dir=work)


@pytest.fixture(scope="module")
def pairs(sim_pairs_small):
    """``sim_pairs_small`` under the name the estimator tests use."""
    return sim_pairs_small
