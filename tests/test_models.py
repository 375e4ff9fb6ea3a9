"""Tests for eeg2fmri.models: registry, shapes, gradients, configs, parameter counts."""

import json

import pytest
import torch

from eeg2fmri.models import create_model, list_models, model_from_config, register_model
from eeg2fmri.models.vmunet import SS2D, VMUNet
from eeg2fmri.ops import cross_merge, cross_scan

#: presets too big for forward tests here; only their parameter counts are checked
HEAVY = {"spec2vol", "e2fnet"}
LIGHT = [name for name in list_models() if name not in HEAVY]

#: (n_context, n_channels, n_freqs, out_shape)
SHAPES = [
    (4, 6, 17, (4, 16, 16)),
    (3, 43, 31, (5, 16, 24)),  # odd electrodes and bins, non-square output
    (2, 5, 9, (3, 12, 20)),  # grid smaller than the decoder multiple: padded + cropped
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


def _build(name, shape, seed=0, **overrides):
    n_context, n_channels, n_freqs, out_shape = shape
    return create_model(
        name, n_context, n_channels, n_freqs, out_shape, random_state=seed, **overrides
    )


def _input(shape, batch=2, dtype=torch.float32, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, *shape[:3], generator=gen, dtype=dtype)


# --------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------
def test_registry_names():
    names = list_models()
    for required in (
        "spec2vol",
        "spec2vol-small",
        "spec2vol-bridge",
        "spec2vol-tiny",
        "latent-drive",
        "e2fnet",
        "e2fnet-small",
        "e2fnet-tiny",
    ):
        assert required in names
    assert names == sorted(names)
    assert list_models("e2fnet*") == ["e2fnet", "e2fnet-small", "e2fnet-tiny"]


def test_unknown_name_suggests():
    with pytest.raises(ValueError, match="Did you mean 'spec2vol-small'"):
        create_model("spec2vol-smal")
    with pytest.raises(ValueError, match="unknown model 'resnet50'"):
        create_model("resnet50")


def test_underscore_alias_and_case():
    a = create_model("Spec2Vol_Tiny", 4, 6, 17, (4, 16, 16), random_state=0)
    assert a.get_config()["name"] == "spec2vol-tiny"


def test_register_duplicate_name_rejected():
    with pytest.raises(ValueError, match="already registered"):
        register_model("spec2vol")(lambda **kw: None)


def test_bad_overrides():
    shape = SHAPES[0]
    with pytest.raises(ValueError, match="conv_paths"):
        _build("spec2vol-tiny", shape, conv_paths=("time",))
    with pytest.raises(ValueError, match="decoder"):
        _build("spec2vol-tiny", shape, decoder="transformer")
    with pytest.raises(ValueError, match="scan_backend"):
        _build("spec2vol-tiny", shape, scan_backend="triton")
    with pytest.raises(ValueError, match="n_heads"):
        _build("spec2vol-tiny", shape, n_heads=3)
    with pytest.raises(ValueError, match="out_shape"):
        create_model("spec2vol-tiny", 4, 6, 17, (16, 16))
    with pytest.raises(TypeError):
        _build("e2fnet-tiny", shape, not_an_arg=1)


def test_wrong_input_shape_is_clear():
    model = _build("spec2vol-tiny", SHAPES[0])
    with pytest.raises(ValueError, match=r"\(batch, 4, 6, 17\); got \(2, 4, 7, 17\)"):
        model(torch.zeros(2, 4, 7, 17))


def test_random_state_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _build("spec2vol-tiny", SHAPES[0], seed=5)
    assert torch.equal(torch.rand(3), expected)


# --------------------------------------------------------------------------------------
# every light preset: forward, backward, determinism, dtypes, config
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LIGHT)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s[:3])))
def test_forward_backward(name, shape):
    model = _build(name, shape).train()
    x = _input(shape)
    y = model(x)
    assert y.shape == (2, *shape[3])
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing}"
    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not bad


@pytest.mark.parametrize("name", LIGHT)
def test_deterministic_under_seed(name):
    shape = SHAPES[1]
    x = _input(shape)
    outs, states = [], []
    for _ in range(2):
        torch.manual_seed(7)
        model = create_model(name, *shape)
        outs.append(model.eval()(x))
        states.append(model.state_dict())
    assert torch.equal(outs[0], outs[1])
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    # compare weights, not outputs: a zero-initialised output layer (the bridge's
    # spatial maps) makes every seed's output 0 at initialisation
    other = _build(name, shape, seed=8).state_dict()
    assert any(not torch.equal(states[0][k], other[k]) for k in other)


@pytest.mark.parametrize("name", LIGHT)
def test_float64(name):
    shape = SHAPES[0]
    model32 = _build(name, shape).eval()
    model64 = _build(name, shape).double().eval()
    x = _input(shape)
    y32 = model32(x)
    y64 = model64(x.double())
    assert y64.dtype == torch.float64
    torch.testing.assert_close(y64.float(), y32, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", list_models())
def test_config_roundtrip(name):
    if (
        name in HEAVY
    ):  # architecture only: build on the meta device (no memory, no init)
        shape = (20, 64, 249, (30, 64, 64))
        with torch.device("meta"):
            model = _build(name, shape)
            rebuilt = model_from_config(json.loads(json.dumps(model.get_config())))
    else:
        shape = SHAPES[1]
        model = _build(name, shape)
        rebuilt = model_from_config(
            json.loads(json.dumps(model.get_config())), random_state=0
        )
    config = model.get_config()
    assert config["name"] == name
    assert config["out_shape"] == list(shape[3])
    text = json.dumps(config)
    assert json.loads(text) == config
    assert rebuilt.get_config() == config
    assert [(n, p.shape) for n, p in rebuilt.named_parameters()] == [
        (n, p.shape) for n, p in model.named_parameters()
    ]
    if name not in HEAVY:  # same seed -> same weights -> same outputs
        x = _input(shape)
        torch.testing.assert_close(rebuilt.eval()(x), model.eval()(x))


def test_model_from_config_errors():
    with pytest.raises(ValueError, match="'name'"):
        model_from_config({"hidden_dim": 3})
    with pytest.raises(ValueError, match="not valid JSON"):
        model_from_config("{oops")


# --------------------------------------------------------------------------------------
# Spec2Vol options
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides",
    [
        {"conv_paths": ("electrode",)},
        {"conv_paths": ("frequency", "square")},
        {"conv_paths": ()},
        {"attention": False},
        {"conv_paths": (), "attention": False},
        {"decoder": "unet"},
        {"fit": "resize"},
        {"output_activation": "sigmoid"},
        {"scan_backend": "reference"},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_spec2vol_ablations(overrides):
    shape = SHAPES[1]
    model = _build("spec2vol-tiny", shape, **overrides)
    y = model(_input(shape))
    assert y.shape == (2, *shape[3])
    y.mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    config = model.get_config()
    assert model_from_config(config).get_config() == config
    if overrides.get("output_activation") == "sigmoid":
        assert ((y > 0) & (y < 1)).all()


def test_ablation_changes_parameters():
    shape = SHAPES[0]
    full = _n_params(_build("spec2vol-tiny", shape))
    no_attn = _n_params(_build("spec2vol-tiny", shape, attention=False))
    one_path = _n_params(_build("spec2vol-tiny", shape, conv_paths=("square",)))
    assert no_attn < full and one_path < full


def test_scan_backend_reaches_ss2d():
    model = _build("spec2vol-tiny", SHAPES[0], scan_backend="reference")
    backends = {m.scan_backend for m in model.modules() if isinstance(m, SS2D)}
    assert backends == {"reference"}


def test_scan_backends_agree():
    shape = SHAPES[0]
    x = _input(shape, dtype=torch.float64)
    ref = _build("spec2vol-tiny", shape, scan_backend="reference").double().eval()
    auto = _build("spec2vol-tiny", shape, scan_backend="auto").double().eval()
    torch.testing.assert_close(auto(x), ref(x))


def test_pad_vs_resize_fit():
    """fit='pad' zero-pads the encoder output: extra grid cells see only zeros."""
    shape = (4, 6, 17, (4, 16, 16))  # encoder output 6 x 5 on a 16 x 16 grid
    model = _build("spec2vol-tiny", shape).eval()
    feats = model.forward_features(_input(shape))
    assert feats.shape == (2, 16, 16, 16)
    assert (feats[:, :, 6:] == 0).all() and (feats[:, :, :, 5:] == 0).all()
    resized = _build("spec2vol-tiny", shape, fit="resize").forward_features(
        _input(shape)
    )
    assert resized.shape == (2, 16, 16, 16) and (resized[:, :, 6:] != 0).any()


def test_encoder_larger_than_grid_is_resized():
    """More electrodes than output rows: shrunk (the official code would crop)."""
    shape = (2, 40, 9, (3, 16, 16))
    model = _build("spec2vol-tiny", shape)
    assert model.forward_features(_input(shape)).shape == (2, 16, 16, 16)
    assert model(_input(shape)).shape == (2, 3, 16, 16)


def test_attention_runs_over_frequency_per_electrode_row():
    """Permuting electrode rows permutes the attention output the same way, while
    mixing happens along frequency."""
    from eeg2fmri.models.encoder import FrequencyAttention

    torch.manual_seed(0)
    attn = FrequencyAttention(8, 2).eval()
    x = torch.randn(1, 8, 5, 7)
    y = attn(x)
    perm = torch.tensor([3, 0, 4, 1, 2])
    torch.testing.assert_close(attn(x[:, :, perm]), y[:, :, perm])
    x2 = x.clone()
    x2[:, :, 2, 0] += 1.0  # change one bin of row 2: only row 2 changes
    diff = (attn(x2) - y).abs().sum(dim=(0, 1))
    assert (diff[2] > 0).all() and (diff[[0, 1, 3, 4]] == 0).all()


# --------------------------------------------------------------------------------------
# SS2D against the official layout
# --------------------------------------------------------------------------------------
def test_cross_scan_matches_vmamba_layout():
    """Same four sequences and merge as VMamba's forward_corev0 (views/transposes)."""
    b, d, h, w = 2, 3, 4, 5
    x = torch.randn(b, d, h, w)
    length = h * w
    x_hwwh = torch.stack(
        [
            x.view(b, -1, length),
            torch.transpose(x, 2, 3).contiguous().view(b, -1, length),
        ],
        dim=1,
    ).view(b, 2, -1, length)
    official = torch.cat([x_hwwh, torch.flip(x_hwwh, dims=[-1])], dim=1)
    torch.testing.assert_close(cross_scan(x), official)

    out_y = torch.randn(b, 4, d, length)
    inv_y = torch.flip(out_y[:, 2:4], dims=[-1]).view(b, 2, -1, length)
    wh_y = (
        torch.transpose(out_y[:, 1].view(b, -1, w, h), 2, 3)
        .contiguous()
        .view(b, -1, length)
    )
    invwh_y = (
        torch.transpose(inv_y[:, 1].view(b, -1, w, h), 2, 3)
        .contiguous()
        .view(b, -1, length)
    )
    expected = out_y[:, 0] + inv_y[:, 0] + wh_y + invwh_y
    torch.testing.assert_close(cross_merge(out_y, h, w), expected)
    # scanning then merging an identity "scan" counts every position 4 times
    torch.testing.assert_close(
        cross_merge(cross_scan(x), h, w), 4 * x.reshape(b, d, -1)
    )


def test_ss2d_init():
    torch.manual_seed(0)
    ss2d = SS2D(32, d_state=16)
    assert ss2d.dt_rank == 2 and ss2d.d_inner == 64
    torch.testing.assert_close(ss2d.A_logs[5], torch.log(torch.arange(1.0, 17.0)))
    assert (ss2d.Ds == 1).all()
    dt = torch.nn.functional.softplus(ss2d.dt_projs_bias)
    assert dt.min() >= 1e-4 * 0.999 and dt.max() <= 0.1 * 1.001


def test_vmunet_rejects_bad_grid():
    net = VMUNet(4, 2, patch_size=2, dims=(8, 16), depths=(1, 1), depths_decoder=(1, 1))
    with pytest.raises(ValueError, match="divisible by 4"):
        net(torch.zeros(1, 4, 6, 8))


# --------------------------------------------------------------------------------------
# parameter counts (official configurations; build only, no forward)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth,expected", [(30, 45_927_230), (32, 45_927_280)])
def test_spec2vol_official_parameter_count(depth, expected):
    with torch.device("meta"):
        model = create_model("spec2vol", 20, 64, 249, (depth, 64, 64))
    assert _n_params(model) == expected
    enc = model.encoder
    assert _n_params(enc.proj) == 46_336
    assert _n_params(enc.blocks[0]) == 608_864
    assert _n_params(enc) == 1_264_064
    dec = model.decoder
    assert _n_params(dec.patch_embed) == 393_504
    assert _n_params(dec.layers) == 22_118_016
    assert _n_params(dec.layers_up) == 22_113_984
    assert [_n_params(dec.layers[i][0]) for i in range(4)] == [
        105_408,
        339_840,
        1_195_776,
        4_455_936,
    ]


def test_spec2vol_count_independent_of_electrodes():
    with torch.device("meta"):
        model = create_model("spec2vol", 20, 43, 249, (32, 64, 64))
    assert _n_params(model) == 45_927_280


@pytest.mark.parametrize("depth,expected", [(30, 19_152_030), (32, 19_152_608)])
def test_e2fnet_parameter_count(depth, expected):
    with torch.device("meta"):
        model = create_model("e2fnet", 20, 64, 249, (depth, 64, 64))
    assert _n_params(model) == expected
    assert _n_params(model.encoder) == 383_008
    assert _n_params(model.unet) == 18_372_608


def test_small_presets_are_comparable():
    shape = (20, 64, 249, (30, 64, 64))
    s2v = _n_params(_build("spec2vol-small", shape))
    e2f = _n_params(_build("e2fnet-small", shape))
    assert s2v < 5_000_000 and e2f < 5_000_000
    assert 0.2 < s2v / e2f < 5


def test_frequency_attention_equals_multihead_attention():
    """Our direct SDPA call gives nn.MultiheadAttention's result, in the official
    sequence-first layout (sequence = bins, batch = batch x electrodes)."""
    from einops import rearrange

    from eeg2fmri.models.encoder import FrequencyAttention

    torch.manual_seed(0)
    attn = FrequencyAttention(16, 4).double()
    x = torch.randn(2, 16, 5, 11, dtype=torch.float64)
    mha = torch.nn.MultiheadAttention(16, 4).double()  # batch_first=False, official
    mha.load_state_dict(attn.attn.state_dict())
    seq = rearrange(x, "b c h w -> w (b h) c")
    expected = rearrange(mha(seq, seq, seq)[0], "w (b h) c -> b c h w", b=2)
    torch.testing.assert_close(attn(x), expected)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(attn(x_cl), expected)
