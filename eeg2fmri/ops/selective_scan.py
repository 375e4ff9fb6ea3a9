"""Selective scan (Mamba S6 recurrence) with VMamba's grouped B/C layout.

Three backends compute the same function:

``"reference"``
    :func:`selective_scan_ref`, a sequential loop written to be read. Every other
    backend is tested against it.
``"cpu"``
    :func:`selective_scan_cpu`, pure PyTorch and exact: a time-major sequential scan
    (one fused in-place ``addcmul`` per step into a preallocated buffer) inside an
    :class:`torch.autograd.Function` with hand-written gradients for all seven
    inputs (reverse recurrence, no autograd graph over the ``L`` steps). The
    element-wise work around the recurrence is done in cache-sized time chunks, so
    only the states are ever a full (L, batch, n_channels, d_state) tensor (and
    not even those without gradients). It also runs on CUDA tensors, just without
    a custom kernel. ``$EEG2FMRI_SCAN_THREADS`` sets its intra-op threads.
``"cuda"``
    ``mamba_ssm``'s ``selective_scan_fn`` (optional extra ``eeg2fmri[cuda]``), used
    when it imports and the tensors are on a GPU. ``mamba_ssm`` is imported at call
    time only, so this package imports and runs without it.

``"auto"`` picks ``"cuda"`` when the tensors are on a GPU and ``mamba_ssm`` imports,
and ``"cpu"`` otherwise.

The recurrence, per channel ``d`` and state ``n``::

    dt_t = softplus(delta_t + delta_bias)          (or delta_t + delta_bias)
    h_t  = exp(dt_t * A) * h_{t-1} + dt_t * u_t * B_t,        h_{-1} = 0
    y_t  = sum_n C_t * h_t + D * u_t
"""

import contextlib
import functools
import math
import os

import torch
import torch.nn.functional as F

__all__ = [
    "BACKENDS",
    "available_backends",
    "selective_scan",
    "selective_scan_cpu",
    "selective_scan_ref",
]

#: Names accepted by ``selective_scan(..., backend=...)``.
BACKENDS = ("auto", "reference", "cpu", "cuda")

_CUDA_INSTALL_HINT = (
    "install it with `pip install 'eeg2fmri[cuda]'` on a machine with CUDA and nvcc "
    "(on a CPU-only machine mamba-ssm only installs with `MAMBA_FORCE_BUILD=TRUE "
    "MAMBA_SKIP_CUDA_BUILD=TRUE CAUSAL_CONV1D_FORCE_BUILD=TRUE "
    "CAUSAL_CONV1D_SKIP_CUDA_BUILD=TRUE pip install --no-build-isolation mamba-ssm`, "
    "and its kernel still needs a GPU)"
)


# --------------------------------------------------------------------------------------
# Input checks and group handling
# --------------------------------------------------------------------------------------
def _check_inputs(u, delta, A, B, C, D, delta_bias):
    """Raise ValueError with a one-line message when shapes do not fit together."""
    if u.dim() != 3:
        raise ValueError(
            f"u must be (batch, n_channels, L); got shape {tuple(u.shape)}."
        )
    batch, n_channels, length = u.shape
    if delta.shape != u.shape:
        raise ValueError(
            f"delta must have the shape of u {tuple(u.shape)}; "
            f"got {tuple(delta.shape)}."
        )
    if A.dim() != 2 or A.shape[0] != n_channels:
        raise ValueError(
            f"A must be (n_channels={n_channels}, d_state); got {tuple(A.shape)}."
        )
    d_state = A.shape[1]
    for name, M in (("B", B), ("C", C)):
        ok = M.dim() in (3, 4) and M.shape[0] == batch and M.shape[-2:] == (
            d_state,
            length,
        )
        if not ok:
            raise ValueError(
                f"{name} must be (batch={batch}, n_groups, d_state={d_state}, "
                f"L={length}) or (batch, d_state, L); got {tuple(M.shape)}."
            )
        if M.dim() == 4 and n_channels % M.shape[1]:
            raise ValueError(
                f"{name} has {M.shape[1]} groups, which does not divide the "
                f"{n_channels} channels of u."
            )
    for name, v in (("D", D), ("delta_bias", delta_bias)):
        if v is not None and tuple(v.shape) != (n_channels,):
            raise ValueError(
                f"{name} must be (n_channels={n_channels},); got {tuple(v.shape)}."
            )


def _expand_groups(M, n_channels):
    """Return B or C as (batch, n_channels, d_state, L), repeating groups if grouped."""
    if M.dim() == 3:  # (b, n, l): one B/C shared by all channels
        return M.unsqueeze(1).expand(-1, n_channels, -1, -1)
    batch, groups, d_state, length = M.shape
    if n_channels % groups:
        raise ValueError(
            f"B/C have {groups} groups, which does not divide the {n_channels} "
            "channels of u."
        )
    per_group = n_channels // groups
    # (b, g, n, l) -> (b, g*per_group, n, l); channel c uses group c // per_group
    return M.repeat_interleave(per_group, dim=1)


# --------------------------------------------------------------------------------------
# Reference
# --------------------------------------------------------------------------------------
def selective_scan_ref(
    u, delta, A, B, C, D=None, delta_bias=None, delta_softplus=False
):
    """Sequential reference of the selective scan, following the Mamba equations.

    ``h_t = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t`` and
    ``y_t = <C_t, h_t> + D * u_t``, with ``dt = softplus(delta + delta_bias)`` when
    ``delta_softplus``. Written to be read, not to be fast; every other backend is
    tested against it.

    Parameters
    ----------
    u : Tensor of shape (batch, n_channels, L)
        Input sequence.
    delta : Tensor of shape (batch, n_channels, L)
        Step sizes before bias and softplus.
    A : Tensor of shape (n_channels, d_state)
        State matrix (diagonal per channel), usually negative.
    B, C : Tensor of shape (batch, n_groups, d_state, L) or (batch, d_state, L)
        Input and output projections; with groups, channel ``c`` uses group
        ``c // (n_channels // n_groups)`` (VMamba: one group per scan direction).
    D : Tensor of shape (n_channels,), optional
        Skip connection.
    delta_bias : Tensor of shape (n_channels,), optional
        Added to ``delta`` before the softplus.
    delta_softplus : bool, default=False
        Apply softplus to ``delta + delta_bias``.

    Returns
    -------
    y : Tensor of shape (batch, n_channels, L)
    """
    batch, n_channels, length = u.shape
    dt = delta if delta_bias is None else delta + delta_bias[None, :, None]
    if delta_softplus:
        dt = F.softplus(dt)
    Bx = _expand_groups(B, n_channels)
    Cx = _expand_groups(C, n_channels)
    h = u.new_zeros(batch, n_channels, A.shape[1])
    ys = []
    # iterate over unbind() views: same as indexing [..., t], but autograd then
    # stacks the per-step gradients once instead of scattering each step into a
    # full-size zero tensor (which makes mamba-ssm's selective_scan_ref backward
    # quadratic in L)
    steps = zip(dt.unbind(-1), u.unbind(-1), Bx.unbind(-1), Cx.unbind(-1), strict=True)
    for dt_t, u_t, B_t, C_t in steps:  # (b, d), (b, d), (b, d, n), (b, d, n)
        dt_t, u_t = dt_t[..., None], u_t[..., None]
        h = torch.exp(dt_t * A) * h + dt_t * B_t * u_t
        ys.append((h * C_t).sum(-1))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + D[None, :, None] * u
    return y


# --------------------------------------------------------------------------------------
# Fast pure-PyTorch backend
# --------------------------------------------------------------------------------------
def _time_major(x):
    """(b, d, l) -> a new contiguous (l, b, d) tensor (never a view of ``x``)."""
    out = torch.empty(
        (x.shape[2], x.shape[0], x.shape[1]), dtype=x.dtype, device=x.device
    )
    out.copy_(x.permute(2, 0, 1))
    return out


def _time_major_groups(M, groups):
    """(b, g, n, l) or (b, n, l) -> contiguous (l, b, groups, n), repeating groups."""
    if M.dim() == 3:
        M = M.unsqueeze(1)
    Mt = M.permute(3, 0, 1, 2)
    if Mt.shape[2] != groups:
        Mt = Mt.repeat_interleave(groups // Mt.shape[2], dim=2)
    return Mt.contiguous()


def _from_time_major_groups(gM, n_groups, ndim):
    """(l, b, G, n) gradient -> (b, n_groups, n, l), or (b, n, l) if ``ndim == 3``."""
    length, batch, groups, d_state = gM.shape
    if n_groups != groups:  # sum the repeated groups back
        gM = gM.view(length, batch, n_groups, groups // n_groups, d_state).sum(3)
    gM = gM.permute(1, 2, 3, 0)
    return gM.squeeze(1) if ndim == 3 else gM


#: Elements per time chunk of the ``"cpu"`` backend's scratch buffers (about 2 MB in
#: float32): large enough for efficient vectorised prep/post, small enough to stay in
#: cache and to avoid allocating (and page-faulting) full (L, batch, d, n) temporaries.
_CHUNK_ELEMENTS = 1 << 19


#: Environment variable: intra-op threads used inside the ``"cpu"`` backend.
SCAN_THREADS_ENV = "EEG2FMRI_SCAN_THREADS"


@contextlib.contextmanager
def _scan_threads():
    """Run the block with ``$EEG2FMRI_SCAN_THREADS`` torch threads, if it is set.

    The scan issues hundreds of small element-wise ops; when the CPU is
    oversubscribed every multi-threaded op waits for a descheduled OpenMP thread,
    which can make the scan 10x slower. ``EEG2FMRI_SCAN_THREADS=1`` avoids that at
    the price of single-threaded element-wise ops. Unset: torch's setting.
    """
    value = os.environ.get(SCAN_THREADS_ENV, "").strip()
    if not value:
        yield
        return
    try:
        n_threads = int(value)
        if n_threads < 1:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{SCAN_THREADS_ENV} must be a positive integer; got {value!r}."
        ) from None
    previous = torch.get_num_threads()
    if n_threads == previous:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _chunk_length(length, step_elements):
    return max(1, min(length, _CHUNK_ELEMENTS // max(step_elements, 1)))


def _scan_forward(u, delta, A, B, C, D, delta_bias, delta_softplus, keep_states):
    """Forward pass of the ``"cpu"`` backend (see :class:`_SelectiveScanFn`).

    Returns
    -------
    y : Tensor of shape (batch, n_channels, L)
    saved : tuple of Tensor or None
        What backward needs, including all states ``hs`` of shape
        (L, batch, G, d_state, P); None unless ``keep_states`` (then the states live
        in a chunk-sized ring buffer only).
    layout : tuple of int
        (groups of B, B.dim(), groups of C, C.dim()).
    """
    batch, n_channels, length = u.shape
    d_state = A.shape[1]
    gb = 1 if B.dim() == 3 else B.shape[1]
    gc = 1 if C.dim() == 3 else C.shape[1]
    groups = math.lcm(gb, gc)
    per_group = n_channels // groups
    Bt = _time_major_groups(B, groups)  # (l, b, G, n)
    Ct = _time_major_groups(C, groups)  # (l, b, G, n)
    # A as (G, n, P)
    At = A.reshape(groups, per_group, d_state).transpose(1, 2).contiguous()

    z = _time_major(delta)  # (l, b, d), a fresh copy
    if delta_bias is not None:
        z += delta_bias
    dt = F.softplus(z) if delta_softplus else z
    dtu = torch.empty_like(dt)
    torch.mul(dt, u.permute(2, 0, 1), out=dtu)  # (l, b, d)

    vshape = (length, batch, groups, 1, per_group)
    dtv, dtuv = dt.view(vshape), dtu.view(vshape)
    Bv = Bt.unsqueeze(-1)  # (l, b, G, n, 1)
    Cv = Ct.unsqueeze(-2)  # (l, b, G, 1, n)
    step_shape = (batch, groups, d_state, per_group)
    chunk = _chunk_length(length, math.prod(step_shape))
    yt = u.new_empty(vshape)
    abuf = u.new_empty((chunk, *step_shape))
    if keep_states:
        hs = u.new_empty((length, *step_shape))
    else:
        hbuf = u.new_empty((chunk, *step_shape))
        h_last = u.new_empty(step_shape)
    for t0 in range(0, length, chunk):
        t1 = min(t0 + chunk, length)
        ac = abuf[: t1 - t0]
        hc = hs[t0:t1] if keep_states else hbuf[: t1 - t0]
        torch.mul(dtv[t0:t1], At, out=ac)  # decays exp(dt * A)
        ac.exp_()
        torch.mul(dtuv[t0:t1], Bv[t0:t1], out=hc)  # inputs dt * u * B
        h_steps, a_steps = hc.unbind(0), ac.unbind(0)
        if t0 > 0:
            h_steps[0].addcmul_(a_steps[0], h_last)
        for k in range(1, t1 - t0):
            h_steps[k].addcmul_(a_steps[k], h_steps[k - 1])
        torch.matmul(Cv[t0:t1], hc, out=yt[t0:t1])  # <C, h>
        if keep_states:
            h_last = h_steps[-1]
        else:  # the ring buffer is overwritten by the next chunk
            h_last.copy_(h_steps[-1])

    y = yt.view(length, batch, n_channels).permute(1, 2, 0).contiguous()
    if D is not None:
        y.addcmul_(u, D[:, None])
    layout = (gb, B.dim(), gc, C.dim())
    if not keep_states:
        return y, None, layout
    return y, (u, z, dt, dtu, At, Bt, Ct, D, delta_bias, hs), layout


class _SelectiveScanFn(torch.autograd.Function):
    """Selective scan with explicit gradients for u, delta, A, B, C, D, delta_bias.

    Layout: everything is time-major, with the channel axis split into (groups,
    channels per group) and the state axis before the channels, so the states are
    one (L, batch, G, d_state, P) buffer ``hs`` (``P = n_channels // G``): ``hs[t]``
    is contiguous, the recurrence is one in-place ``addcmul`` per step, and every
    broadcast runs along the long contiguous ``P`` axis.

    Work is done in time chunks of a few MB: the decays ``exp(dt * A)``, the inputs
    ``dt * u * B``, the outputs ``<C, h>`` and, in backward, the state gradients and
    their reductions are computed chunk by chunk in small reused scratch buffers.
    Only ``hs`` is a full-size (L, batch, n_channels, d_state) tensor; it is the
    only large tensor kept for backward (decays are recomputed), and backward
    allocates no full-size tensor at all. Without gradients (inference) the
    states only live in a chunk-sized ring buffer.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, delta_bias, delta_softplus):
        with _scan_threads():
            y, saved, layout = _scan_forward(
                u, delta, A, B, C, D, delta_bias, delta_softplus, keep_states=True
            )
        ctx.save_for_backward(*saved)
        ctx.delta_softplus = delta_softplus
        ctx.layout = layout
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy):
        with _scan_threads():
            return _SelectiveScanFn._backward(ctx, gy)

    @staticmethod
    def _backward(ctx, gy):
        u, z, dt, dtu, At, Bt, Ct, D, delta_bias, hs = ctx.saved_tensors
        need = ctx.needs_input_grad
        length, batch, groups, d_state, per_group = hs.shape
        n_channels = groups * per_group
        vshape = (length, batch, groups, 1, per_group)
        cshape = (length, batch, groups, per_group, 1)
        need_q = need[1] or need[2] or need[6]  # gradients through the decays
        need_dt = need[0] or need[1] or need[6]

        gyt = _time_major(gy)  # (l, b, d)
        gyv, gyc = gyt.view(vshape), gyt.view(cshape)
        dtv, dtuc = dt.view(vshape), dtu.view(cshape)
        Bv = Bt.unsqueeze(-2)  # (l, b, G, 1, n)
        Cv = Ct.unsqueeze(-1)  # (l, b, G, n, 1)
        step_shape = (batch, groups, d_state, per_group)
        chunk = _chunk_length(length, math.prod(step_shape))
        gbuf = hs.new_empty((chunk, *step_shape))
        abuf = hs.new_empty((chunk, *step_shape))
        g_next = hs.new_empty(step_shape)  # g[t1] and a[t1] carried from the
        a_next = hs.new_empty(step_shape)  # chunk after the current one
        gC = hs.new_empty((length, batch, groups, d_state, 1)) if need[4] else None
        gB = hs.new_empty((length, batch, groups, d_state, 1)) if need[3] else None
        gdtu = hs.new_empty(vshape) if need_dt else None
        gdt = hs.new_empty((length, batch, groups, 1, per_group)) if need_q else None
        gA = hs.new_zeros((groups, d_state, per_group)) if need[2] else None

        for t0 in reversed(range(0, length, chunk)):
            t1 = min(t0 + chunk, length)
            ac, gc = abuf[: t1 - t0], gbuf[: t1 - t0]
            torch.mul(dtv[t0:t1], At, out=ac)  # decays, recomputed
            ac.exp_()
            # state gradients g[t] = C[t] * gy[t] + a[t+1] * g[t+1]
            torch.mul(gyv[t0:t1], Cv[t0:t1], out=gc)
            g_steps, a_steps = gc.unbind(0), ac.unbind(0)
            if t1 < length:
                g_steps[-1].addcmul_(a_next, g_next)
            for k in range(t1 - t0 - 2, -1, -1):
                g_steps[k].addcmul_(a_steps[k + 1], g_steps[k + 1])
            if t0 > 0:
                g_next.copy_(g_steps[0])
                a_next.copy_(a_steps[0])
            if gC is not None:  # dC = sum_p h * gy
                torch.matmul(hs[t0:t1], gyc[t0:t1], out=gC[t0:t1])
            if gB is not None:  # dB = sum_p g * dt * u
                torch.matmul(gc, dtuc[t0:t1], out=gB[t0:t1])
            if gdtu is not None:  # d(dt * u) = sum_n B * g
                torch.matmul(Bv[t0:t1], gc, out=gdtu[t0:t1])
            if need_q:
                # q[t] = g[t] * h[t-1] * a[t] = d loss / d (dt[t] * A), written into gc
                s = 1 if t0 == 0 else 0
                if s:
                    gc[0].zero_()
                gc[s:].mul_(hs[t0 + s - 1 : t1 - 1]).mul_(ac[s:])
                if gA is not None:  # dA = sum_{t, b} q * dt
                    torch.mul(gc, dtv[t0:t1], out=ac)
                    gA += ac.sum((0, 1))
                torch.mul(gc, At, out=ac)  # d dt (via the decays) = sum_n q * A
                torch.sum(ac, dim=3, keepdim=True, out=gdt[t0:t1])

        grad_u = grad_delta = grad_A = grad_B = grad_C = grad_D = grad_bias = None
        if gC is not None:
            grad_C = _from_time_major_groups(gC.squeeze(-1), *ctx.layout[2:])
        if gB is not None:
            grad_B = _from_time_major_groups(gB.squeeze(-1), *ctx.layout[:2])
        if gA is not None:
            grad_A = gA.transpose(1, 2).reshape(n_channels, d_state)
        if gdtu is not None:
            gdtu = gdtu.view(length, batch, n_channels)
        if need[0]:
            grad_u = gdtu * dt
            if D is not None:
                grad_u.addcmul_(gyt, D)
            grad_u = grad_u.permute(1, 2, 0)
        if need[5] and D is not None:
            grad_D = (gy * u).sum((0, 2))
        if need[1] or need[6]:
            gdt = gdt.view(length, batch, n_channels)
            gdt.addcmul_(gdtu, u.permute(2, 0, 1))  # d dt = ... + u * d(dt * u)
            if ctx.delta_softplus:
                gdt.mul_(torch.sigmoid(z))
            if need[1]:
                grad_delta = gdt.permute(1, 2, 0)
            if need[6] and delta_bias is not None:
                grad_bias = gdt.sum((0, 1))
        return grad_u, grad_delta, grad_A, grad_B, grad_C, grad_D, grad_bias, None


def selective_scan_cpu(
    u, delta, A, B, C, D=None, delta_bias=None, delta_softplus=False
):
    """Fast, exact pure-PyTorch selective scan (the ``"cpu"`` backend).

    Same function and arguments as :func:`selective_scan_ref`; gradients for all
    tensor inputs are computed by a hand-written reverse recurrence, so backward
    costs about twice the forward instead of growing with ``L**2``. Works on any
    device and dtype (float32, float64). Not twice differentiable.

    Parameters
    ----------
    u : Tensor of shape (batch, n_channels, L)
    delta : Tensor of shape (batch, n_channels, L)
    A : Tensor of shape (n_channels, d_state)
    B, C : Tensor of shape (batch, n_groups, d_state, L) or (batch, d_state, L)
    D : Tensor of shape (n_channels,), optional
    delta_bias : Tensor of shape (n_channels,), optional
    delta_softplus : bool, default=False

    Returns
    -------
    y : Tensor of shape (batch, n_channels, L)

    Notes
    -----
    Memory: one (L, batch, n_channels, d_state) tensor (the states) is kept
    between forward and backward; everything else is (L, batch, n_channels) or
    chunk-sized. Without gradients no full-size tensor is allocated.

    Threads: the scan runs with torch's intra-op threads, or with
    ``$EEG2FMRI_SCAN_THREADS`` threads when that environment variable is set
    (``1`` is much faster when the CPU is oversubscribed, e.g. by parallel jobs).
    """
    _check_inputs(u, delta, A, B, C, D, delta_bias)
    # compute in the common dtype, at least float32 (as mamba-ssm's kernel does);
    # the casts are tracked by autograd, so each gradient keeps its input's dtype
    dtype = torch.float32
    for v in (u, delta, A, B, C, D, delta_bias):
        if v is not None:
            dtype = torch.promote_types(dtype, v.dtype)
    u_, delta_, A_, B_, C_, D_, bias_ = (
        None if v is None else v.to(dtype) for v in (u, delta, A, B, C, D, delta_bias)
    )
    args = (u_, delta_, A_, B_, C_, D_, bias_, bool(delta_softplus))
    needs_grad = torch.is_grad_enabled() and any(
        v is not None and v.requires_grad for v in args[:7]
    )
    if needs_grad:
        y = _SelectiveScanFn.apply(*args)
    else:  # inference: no full-size state buffer, no autograd node
        with _scan_threads():
            y = _scan_forward(*args, keep_states=False)[0]
    return y.to(u.dtype)


# --------------------------------------------------------------------------------------
# CUDA backend (mamba_ssm) and dispatch
# --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _load_mamba_scan():
    """Return (mamba_ssm's selective_scan_fn or None, the import error text or None)."""
    try:  # mamba_ssm raises on import without its compiled CUDA extension
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception as exc:  # any failure means "not available"
        return None, f"{type(exc).__name__}: {exc}"
    return selective_scan_fn, None


def _selective_scan_cuda(u, delta, A, B, C, D, delta_bias, delta_softplus):
    fn, error = _load_mamba_scan()
    if fn is None:
        raise ImportError(
            f"backend='cuda' needs mamba-ssm with its CUDA kernel, which failed to "
            f"import ({error}); {_CUDA_INSTALL_HINT}; or use backend='cpu'."
        )
    if not u.is_cuda:
        raise RuntimeError(
            f"backend='cuda' needs tensors on a CUDA device; got u on {u.device}; "
            "use backend='cpu' or 'auto'."
        )
    return fn(u, delta, A, B, C, D, z=None, delta_bias=delta_bias,
              delta_softplus=delta_softplus)


def available_backends():
    """Backends that can run on this machine.

    Returns
    -------
    names : list of str
        Always ``["reference", "cpu"]``, plus ``"cuda"`` when a GPU is present and
        ``mamba_ssm`` imports.
    """
    names = ["reference", "cpu"]
    if torch.cuda.is_available() and _load_mamba_scan()[0] is not None:
        names.append("cuda")
    return names


def _resolve_backend(backend, u):
    if backend not in BACKENDS:
        raise ValueError(
            f"backend must be one of {', '.join(repr(b) for b in BACKENDS)}; "
            f"got {backend!r}."
        )
    if backend == "auto":
        if u.is_cuda and _load_mamba_scan()[0] is not None:
            return "cuda"
        return "cpu"
    return backend


def selective_scan(u, delta, A, B, C, D=None, delta_bias=None, delta_softplus=False,
                   backend="auto"):
    """Selective scan with a choice of backend.

    Every backend computes the function of :func:`selective_scan_ref` (the equations
    and what each argument means are documented there).

    Parameters
    ----------
    u, delta, A, B, C, D, delta_bias, delta_softplus
        As in :func:`selective_scan_ref`: the input sequence ``u`` and step sizes
        ``delta`` (batch, n_channels, L), the state matrix ``A`` (n_channels,
        d_state), the projections ``B`` and ``C`` (batch, [n_groups,] d_state, L),
        the skip ``D`` and ``delta_bias`` (n_channels,).
    backend : {"auto", "reference", "cpu", "cuda"}, default="auto"
        ``"auto"`` uses ``"cuda"`` (mamba-ssm's kernel) for CUDA tensors when
        mamba-ssm imports, else ``"cpu"`` (exact pure PyTorch, any device).
        ``"reference"`` is the slow readable loop.

    Returns
    -------
    y : Tensor of shape (batch, n_channels, L)

    Raises
    ------
    ValueError
        Unknown backend or inconsistent shapes.
    ImportError
        ``backend="cuda"`` without a working mamba-ssm.
    RuntimeError
        ``backend="cuda"`` with tensors that are not on a CUDA device.
    """
    name = _resolve_backend(backend, u)
    if name == "reference":
        _check_inputs(u, delta, A, B, C, D, delta_bias)
        return selective_scan_ref(u, delta, A, B, C, D, delta_bias, delta_softplus)
    if name == "cpu":
        return selective_scan_cpu(u, delta, A, B, C, D, delta_bias, delta_softplus)
    return _selective_scan_cuda(u, delta, A, B, C, D, delta_bias, delta_softplus)
