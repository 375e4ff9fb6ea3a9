"""The overfitting check, for every registered model that claims to learn.

A model that cannot fit a few dozen pairs of a noise-free, input-dependent target
within a fixed step budget will not learn the EEG-driven BOLD fluctuations from real
data either (``docs/why_models_fail.rst``). Every model registered with
``passes_overfit_check=True`` must pass :func:`eeg2fmri.diagnostics.overfit_check`
here; the others must say why they do not. The full-size networks take minutes per
check on a CPU and run with ``pytest --run-expensive`` (their numbers are in
``benchmarks/results/diagnosis.md``).
"""

import numpy as np
import pytest

from eeg2fmri.diagnostics import gradient_norms, overfit_check, planted_target
from eeg2fmri.models import create_model, list_models, model_info

#: The suite's budget: 32 pairs, 300 steps of 16, AdamW 1e-3 with a cosine decay.
N_STEPS = 300
OUT_SHAPE = (8, 16, 16)
#: Full-size networks: minutes per check on 2 CPU cores.
EXPENSIVE = ("spec2vol", "e2fnet")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def pairs(sim_bids):
    """32 EEG contexts of the session's simulated dataset (4 windows, 32 bins)."""
    from eeg2fmri.features import FeatureParams, build_dataset

    ds = build_dataset(sim_bids, FeatureParams(n_context=4, n_freqs=32))
    return np.asarray(ds.X[:32])


@pytest.mark.parametrize(
    "name", [n for n in list_models() if model_info(n).passes_overfit_check]
)
def test_models_that_claim_to_learn_pass_the_overfitting_check(name, pairs, request):
    if name in EXPENSIVE and not request.config.getoption("--run-expensive"):
        pytest.skip(f"{name}: full-size network, minutes on a CPU (--run-expensive)")
    result = overfit_check(name, pairs, out_shape=OUT_SHAPE, n_steps=N_STEPS)
    assert result.passed, (
        f"{name}: relative training loss {result.relative_loss:.3f} after "
        f"{N_STEPS} steps (threshold {result.threshold}); curve {result.curve}"
    )


def test_models_that_do_not_learn_say_why():
    silent = [n for n in list_models() if not model_info(n).passes_overfit_check and
              not model_info(n).note]
    assert not silent


def test_the_bridge_is_what_makes_spec2vol_tiny_fit(pairs):
    """Same network, same budget: without its bridge it stays far above the bar."""
    with_bridge = overfit_check("spec2vol-tiny", pairs, out_shape=OUT_SHAPE,
                                n_steps=N_STEPS)
    without = overfit_check(
        "spec2vol-tiny", pairs, out_shape=OUT_SHAPE, n_steps=N_STEPS,
        model_params={"bridge_latents": 0},
    )
    assert with_bridge.passed and not without.passed
    assert without.relative_loss > 3 * with_bridge.relative_loss


def test_planted_target_depends_on_the_input_and_has_unit_variance(pairs):
    y, latents = planted_target(pairs, OUT_SHAPE, random_state=0)
    assert y.shape == (32, *OUT_SHAPE) and y.dtype == np.float32
    assert y.std() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(latents.mean(axis=0), 0, atol=1e-6)
    # a different input gives a different target; the same input the same target
    y2, _ = planted_target(pairs[::-1], OUT_SHAPE, random_state=0)
    np.testing.assert_allclose(y2[::-1], y, rtol=1e-5, atol=1e-5)
    assert not np.allclose(planted_target(pairs, OUT_SHAPE, random_state=1)[0], y)


def test_gradient_norms_follow_the_zero_initialised_layers(pairs):
    model = create_model("spec2vol-tiny", 4, 16, 32, OUT_SHAPE, random_state=0)
    y, _ = planted_target(pairs, OUT_SHAPE)
    x = (pairs - pairs.mean((0, 1))) / pairs.std((0, 1))
    norms = gradient_norms(model, x[:8], y[:8])
    assert {"encoder.proj", "encoder.blocks", "decoder.final_conv",
            "bridge.readout", "bridge.maps"} <= set(norms)
    # the bridge's maps start at zero: nothing reaches its readout yet
    assert norms["bridge.readout"] == 0 and norms["bridge.band_pool"] == 0
    assert all(v > 0 for k, v in norms.items() if not k.startswith("bridge.")
               or k == "bridge.maps")
    # with the decoder's output layer zeroed too, only the two zeroed layers learn
    model.zero_output_()
    zeroed = gradient_norms(model, x[:8], y[:8])
    assert zeroed["decoder.final_conv"] > 0 and zeroed["bridge.maps"] > 0
    assert zeroed["encoder.proj"] == 0 and zeroed["bridge.readout"] == 0


def test_overfit_check_refuses_bad_input(pairs):
    with pytest.raises(ValueError, match="out_shape is required"):
        overfit_check("spec2vol-tiny", pairs)
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples"):
        overfit_check("spec2vol-tiny", pairs[:, 0], out_shape=OUT_SHAPE)
