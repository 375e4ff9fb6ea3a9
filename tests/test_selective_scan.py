"""Selective scan backends and SS2D cross-scan: exactness against the reference."""

import importlib
import math
import sys

import pytest
import torch

from eeg2fmri.ops import (
    BACKENDS,
    available_backends,
    cross_merge,
    cross_scan,
    selective_scan,
    selective_scan_cpu,
    selective_scan_ref,
)

# the submodule (``eeg2fmri.ops.selective_scan`` the attribute is the function)
ss_module = importlib.import_module("eeg2fmri.ops.selective_scan")

INPUT_NAMES = ("u", "delta", "A", "B", "C", "D", "delta_bias")


def make_inputs(
    batch,
    n_channels,
    length,
    d_state,
    groups_b=4,
    groups_c=4,
    use_d=True,
    use_bias=True,
    softplus=True,
    dt_max=0.1,
    dtype=torch.float64,
    random_state=0,
):
    """Random scan inputs with the Mamba initialisation; groups None = ungrouped B/C.

    With ``softplus`` the step is ``softplus(delta + bias)`` with the bias set so that
    dt is log-uniform in [1e-3, dt_max]; without it, delta is drawn in [0, dt_max].
    """
    gen = torch.Generator().manual_seed(random_state)

    def rand(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    u = rand(batch, n_channels, length)
    A = -torch.arange(1, d_state + 1, dtype=torch.float64).repeat(n_channels, 1)
    A = A * (0.5 + torch.rand(n_channels, d_state, generator=gen, dtype=torch.float64))
    B = rand(batch, d_state, length) if groups_b is None else rand(
        batch, groups_b, d_state, length
    )
    C = rand(batch, d_state, length) if groups_c is None else rand(
        batch, groups_c, d_state, length
    )
    D = rand(n_channels) if use_d else None
    log_dt = torch.empty(n_channels, dtype=torch.float64).uniform_(
        math.log(1e-3), math.log(dt_max), generator=gen
    )
    dt = log_dt.exp()
    if softplus:
        delta = 0.5 * rand(batch, n_channels, length)
        bias = dt + torch.log(-torch.expm1(-dt))  # inverse softplus
        if not use_bias:
            delta = delta + bias[None, :, None]
    else:
        delta = dt_max * torch.rand(batch, n_channels, length, generator=gen,
                                    dtype=torch.float64)
        bias = 0.01 * rand(n_channels).abs()
    bias = bias if use_bias else None
    tensors = [u, delta, A, B, C, D, bias]
    return [None if t is None else t.to(dtype) for t in tensors]


def run(fn, inputs, softplus, random_state=1):
    """Forward + backward with a random upstream gradient -> (y, grads)."""
    leaves = [
        None if t is None else t.detach().clone().requires_grad_() for t in inputs
    ]
    y = fn(*leaves, delta_softplus=softplus)
    gen = torch.Generator().manual_seed(random_state)
    gy = torch.randn(y.shape, generator=gen, dtype=torch.float64).to(y.dtype)
    present = [t for t in leaves if t is not None]
    grads = iter(torch.autograd.grad(y, present, gy))
    return y.detach(), [None if t is None else next(grads) for t in leaves]


def rel_err(x, ref):
    """max |x - ref| / max |ref| (0 when both are 0)."""
    x, ref = x.double(), ref.double()
    scale = ref.abs().max().item()
    diff = (x - ref).abs().max().item()
    return diff if scale == 0 else diff / scale


def backend_fn(name):
    return lambda *args, **kw: selective_scan(*args, backend=name, **kw)


@pytest.fixture
def small_chunks(monkeypatch):
    """Make the cpu backend work in time chunks of 3 steps (ragged, many chunks)."""

    def set_steps(inputs):
        u, _, A = inputs[:3]
        step = u.shape[0] * u.shape[1] * A.shape[1]
        monkeypatch.setattr(ss_module, "_CHUNK_ELEMENTS", 3 * step)

    return set_steps


@pytest.fixture
def clear_mamba_cache():
    """Forget whether mamba_ssm imports, before and after the test."""
    loader = ss_module._load_mamba_scan  # the real, cached loader
    loader.cache_clear()
    yield
    loader.cache_clear()


# (batch, n_channels, L, d_state, groups_b, groups_c, D, bias, softplus, dt_max)
CASES = {
    "grouped-L7": (2, 8, 7, 4, 4, 4, True, True, True, 0.1),
    "L1": (2, 8, 1, 4, 2, 2, True, True, True, 0.1),
    "ungrouped-L37-bare": (1, 6, 37, 3, None, None, False, False, False, 0.1),
    "mixed-groups-L16": (2, 12, 16, 5, 4, None, True, False, True, 0.1),
    "no-softplus-bias": (2, 8, 12, 4, 2, 4, False, True, False, 0.1),
    "trained-like-dt1": (2, 8, 37, 16, 4, 4, True, True, True, 1.0),
}


@pytest.mark.parametrize("chunked", [False, True], ids=["one-chunk", "chunks-of-3"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize(
    ("dtype", "tol"), [(torch.float64, 1e-10), (torch.float32, 1e-5)],
    ids=["float64", "float32"],
)
def test_backends_match_reference(case, dtype, tol, chunked, small_chunks):
    b, d, L, n, gb, gc, use_d, use_bias, softplus, dt_max = CASES[case]
    truth_inputs = make_inputs(b, d, L, n, gb, gc, use_d, use_bias, softplus, dt_max)
    y_ref, g_ref = run(selective_scan_ref, truth_inputs, softplus)  # float64 truth
    inputs = [None if t is None else t.to(dtype) for t in truth_inputs]
    if chunked:
        small_chunks(inputs)
    backends = [name for name in available_backends() if name != "cuda"]
    assert "cpu" in backends
    for name in backends:
        y, grads = run(backend_fn(name), inputs, softplus)
        assert y.dtype == dtype and y.shape == (b, d, L)
        assert rel_err(y, y_ref) < tol, (name, "y")
        for input_name, g, g0 in zip(INPUT_NAMES, grads, g_ref, strict=True):
            if g0 is None:
                assert g is None
                continue
            assert g.dtype == dtype and g.shape == g0.shape, (name, input_name)
            assert torch.isfinite(g).all(), (name, input_name)
            assert rel_err(g, g0) < tol, (name, input_name, rel_err(g, g0))


@pytest.mark.parametrize("chunked", [False, True], ids=["one-chunk", "chunks-of-3"])
def test_cpu_inference_path(chunked, small_chunks):
    # without gradients the cpu backend keeps only a ring buffer of states
    inputs = make_inputs(2, 8, 37, 16, 4, None, dt_max=1.0)
    if chunked:
        small_chunks(inputs)
    y_ref = selective_scan_ref(*inputs, delta_softplus=True)
    with torch.no_grad():
        y = selective_scan_cpu(*[t.requires_grad_() for t in inputs],
                               delta_softplus=True)
    assert not y.requires_grad
    assert rel_err(y, y_ref) < 1e-12
    y = selective_scan_cpu(*[t.detach() for t in inputs], delta_softplus=True)
    assert rel_err(y, y_ref) < 1e-12


def test_reference_hand_computed():
    # L=2, N=1, one channel: dt = softplus(delta + bias)
    u = torch.tensor([[[1.0, 2.0]]], dtype=torch.float64)
    delta = torch.tensor([[[0.5, -1.0]]], dtype=torch.float64)
    bias = torch.tensor([0.25], dtype=torch.float64)
    A = torch.tensor([[-2.0]], dtype=torch.float64)
    B = torch.tensor([[[[3.0, -1.0]]]], dtype=torch.float64)  # (b, g, n, l)
    C = torch.tensor([[[[0.5, 4.0]]]], dtype=torch.float64)
    D = torch.tensor([0.1], dtype=torch.float64)
    dt0, dt1 = math.log1p(math.exp(0.75)), math.log1p(math.exp(-0.75))
    h0 = dt0 * 3.0 * 1.0
    h1 = math.exp(-2.0 * dt1) * h0 + dt1 * (-1.0) * 2.0
    expected = torch.tensor([[[0.5 * h0 + 0.1, 4.0 * h1 + 0.2]]], dtype=torch.float64)
    y = selective_scan_ref(u, delta, A, B, C, D, bias, delta_softplus=True)
    torch.testing.assert_close(y, expected, rtol=1e-14, atol=0)
    # without softplus or bias, and with B/C ungrouped (b, n, l)
    y = selective_scan_ref(u, delta.abs(), A, B[:, 0], C[:, 0])
    h0 = 0.5 * 3.0
    h1 = math.exp(-2.0) * h0 + 1.0 * (-1.0) * 2.0
    expected = torch.tensor([[[0.5 * h0, 4.0 * h1]]], dtype=torch.float64)
    torch.testing.assert_close(y, expected, rtol=1e-14, atol=0)
    # the cpu backend gives the same numbers
    torch.testing.assert_close(
        selective_scan_cpu(u, delta, A, B, C, D, bias, delta_softplus=True),
        selective_scan_ref(u, delta, A, B, C, D, bias, delta_softplus=True),
        rtol=1e-14, atol=0,
    )


@pytest.mark.parametrize(
    "layout", [(2, 2, True, True, True), (None, None, False, False, False)],
    ids=["grouped-D-bias-softplus", "ungrouped-bare"],
)
def test_gradcheck_cpu(layout, small_chunks):
    gb, gc, use_d, use_bias, softplus = layout
    inputs = make_inputs(1, 4, 5, 2, gb, gc, use_d, use_bias, softplus, dt_max=0.5)
    small_chunks(inputs)  # chunks of 3 steps: one full, one ragged
    leaves = tuple(t.requires_grad_() for t in inputs if t is not None)
    names = [n for n, t in zip(INPUT_NAMES, inputs, strict=True) if t is not None]

    def fn(*args):
        kw = dict(zip(names, args, strict=True))
        return selective_scan_cpu(**kw, delta_softplus=softplus)

    assert torch.autograd.gradcheck(fn, leaves, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_cpu_partial_grads_noncontiguous_inputs_untouched():
    inputs = make_inputs(2, 8, 9, 4, 4, 4)
    # non-contiguous views, as SS2D produces them
    u_t = inputs[0].transpose(1, 2).contiguous().transpose(1, 2)
    delta_t = inputs[1].transpose(1, 2).contiguous().transpose(1, 2)
    B_t = inputs[3].transpose(2, 3).contiguous().transpose(2, 3)
    assert not (u_t.is_contiguous() or delta_t.is_contiguous() or B_t.is_contiguous())
    saved = [t.clone() for t in inputs]
    u = u_t.clone().requires_grad_()  # only u needs a gradient
    y = selective_scan_cpu(u, delta_t, inputs[2], B_t, *inputs[4:], delta_softplus=True)
    (gu,) = torch.autograd.grad(y.square().sum(), [u])
    u_ref = inputs[0].clone().requires_grad_()
    y_ref = selective_scan_ref(u_ref, *inputs[1:], delta_softplus=True)
    (gu_ref,) = torch.autograd.grad(y_ref.square().sum(), [u_ref])
    assert rel_err(y, y_ref) < 1e-12 and rel_err(gu, gu_ref) < 1e-12
    for before, after in zip(saved, inputs, strict=True):
        assert torch.equal(before, after)  # inputs not modified in place


def test_cpu_mixed_dtypes_keep_input_dtypes():
    inputs = make_inputs(1, 4, 6, 2, 2, 2, dtype=torch.float32)
    A64 = inputs[2].double().requires_grad_()
    u = inputs[0].clone().requires_grad_()
    y = selective_scan_cpu(u, inputs[1], A64, *inputs[3:], delta_softplus=True)
    assert y.dtype == torch.float32
    gu, gA = torch.autograd.grad(y.sum(), [u, A64])
    assert gu.dtype == torch.float32 and gA.dtype == torch.float64


def test_auto_is_cpu_on_cpu_tensors():
    inputs = make_inputs(2, 8, 7, 4, 4, 4, dtype=torch.float32)
    y_auto = selective_scan(*inputs, delta_softplus=True)
    y_cpu = selective_scan(*inputs, delta_softplus=True, backend="cpu")
    assert torch.equal(y_auto, y_cpu)
    assert set(available_backends()) >= {"reference", "cpu"}
    assert set(BACKENDS) == {"auto", "reference", "cpu", "cuda"}


def test_scan_threads_env(monkeypatch):
    inputs = make_inputs(2, 8, 7, 4, 4, 4)
    y_ref = selective_scan_ref(*inputs, delta_softplus=True)
    before = torch.get_num_threads()
    monkeypatch.setenv("EEG2FMRI_SCAN_THREADS", "1")
    leaves = [t.clone().requires_grad_() for t in inputs]
    y = selective_scan_cpu(*leaves, delta_softplus=True)
    y.sum().backward()
    assert rel_err(y, y_ref) < 1e-12
    assert torch.get_num_threads() == before  # restored
    monkeypatch.setenv("EEG2FMRI_SCAN_THREADS", "two")
    with pytest.raises(ValueError, match="EEG2FMRI_SCAN_THREADS must be a positive"):
        selective_scan_cpu(*inputs)


def test_unknown_backend():
    inputs = make_inputs(1, 4, 3, 2, 2, 2)
    with pytest.raises(ValueError, match="backend must be one of 'auto', 'reference'"):
        selective_scan(*inputs, backend="triton")


def test_cuda_backend_without_mamba_ssm(monkeypatch, clear_mamba_cache):
    monkeypatch.setitem(sys.modules, "mamba_ssm", None)  # import now fails
    ss_module._load_mamba_scan.cache_clear()
    inputs = make_inputs(1, 4, 3, 2, 2, 2, dtype=torch.float32)
    with pytest.raises(ImportError, match=r"pip install 'eeg2fmri\[cuda\]'") as info:
        selective_scan(*inputs, backend="cuda")
    assert "MAMBA_SKIP_CUDA_BUILD=TRUE" in str(info.value)
    assert "\n" not in str(info.value)
    assert "cuda" not in available_backends()
    # auto still works (falls back to the pure-PyTorch backend)
    assert torch.equal(selective_scan(*inputs), selective_scan_cpu(*inputs))


def test_cuda_backend_needs_cuda_tensors(monkeypatch, clear_mamba_cache):
    calls = []

    def fake_kernel(*args, **kwargs):
        calls.append(args)
        raise AssertionError("must not be called on CPU tensors")

    monkeypatch.setattr(ss_module, "_load_mamba_scan", lambda: (fake_kernel, None))
    inputs = make_inputs(1, 4, 3, 2, 2, 2, dtype=torch.float32)
    with pytest.raises(RuntimeError, match="needs tensors on a CUDA device; got u on"):
        selective_scan(*inputs, backend="cuda")
    selective_scan(*inputs)  # auto on CPU tensors: cpu backend, not the kernel
    assert calls == []


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ({"A": (5, 2)}, "A must be"),
        ({"B": (1, 3, 2, 3)}, "B has 3 groups, which does not divide the 4 channels"),
        ({"C": (1, 2, 2, 4)}, "C must be"),
        ({"D": (3,)}, "D must be"),
        ({"delta": (1, 4, 2)}, "delta must have the shape of u"),
    ],
)
def test_shape_errors(shape, match):
    inputs = dict(zip(INPUT_NAMES, make_inputs(1, 4, 3, 2, 2, 2), strict=True))
    (name, bad_shape), = shape.items()
    inputs[name] = torch.zeros(bad_shape, dtype=torch.float64)
    for backend in ("reference", "cpu"):
        with pytest.raises(ValueError, match=match):
            selective_scan(**inputs, backend=backend)


@pytest.mark.cuda
def test_cuda_backend_matches_reference():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if "cuda" not in available_backends():
        pytest.skip("mamba-ssm with its CUDA kernel is not importable")
    inputs = make_inputs(2, 8, 37, 16, 4, 4, dtype=torch.float32, dt_max=1.0)
    y_ref, g_ref = run(selective_scan_ref, [t.double() for t in inputs], True)
    cuda_inputs = [t.cuda() for t in inputs]
    y, grads = run(backend_fn("cuda"), cuda_inputs, True)
    assert rel_err(y.cpu(), y_ref) < 1e-4
    for g, g0 in zip(grads, g_ref, strict=True):
        assert rel_err(g.cpu(), g0) < 1e-3


# --------------------------------------------------------------------------------------
# cross-scan / cross-merge
# --------------------------------------------------------------------------------------
def test_cross_scan_orders():
    x = torch.arange(6.0).view(1, 1, 2, 3)  # [[0, 1, 2], [3, 4, 5]]
    xs = cross_scan(x)
    assert xs.shape == (1, 4, 1, 6) and xs.is_contiguous()
    assert xs[0, :, 0].tolist() == [
        [0, 1, 2, 3, 4, 5],  # row-major
        [0, 3, 1, 4, 2, 5],  # column-major
        [5, 4, 3, 2, 1, 0],  # row-major reversed
        [5, 2, 4, 1, 3, 0],  # column-major reversed
    ]


def test_cross_merge_is_adjoint_of_cross_scan():
    gen = torch.Generator().manual_seed(0)
    H, W = 3, 5
    x = torch.randn(2, 3, H, W, generator=gen, dtype=torch.float64)
    ys = torch.randn(2, 4, 3, H * W, generator=gen, dtype=torch.float64)
    lhs = (cross_scan(x) * ys).sum()
    rhs = (x.flatten(2) * cross_merge(ys, H, W)).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-12, atol=0)
    torch.testing.assert_close(cross_merge(cross_scan(x), H, W), 4 * x.flatten(2))
    # each direction alone maps back to the identity
    for k in range(4):
        only_k = torch.zeros_like(ys)
        only_k[:, k] = cross_scan(x)[:, k]
        torch.testing.assert_close(cross_merge(only_k, H, W), x.flatten(2))


def test_cross_scan_merge_errors():
    with pytest.raises(ValueError, match="x must be"):
        cross_scan(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="ys must be"):
        cross_merge(torch.zeros(1, 4, 2, 6), 2, 2)
