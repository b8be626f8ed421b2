"""PyTorch references for zhuyi's optimizers, clipping and schedules -> tests/ref/optim.zyr.

Run from the repo root: /usr/bin/python3 tests/ref_optim.py

Three parameter tensors (37, 5x7, 64) laid out one after another in a flat buffer of 136
floats, as zhuyi stores them. Two torch param groups: A = {p0, p2} with weight decay,
B = {p1} without; in zhuyi that is three zy_param_group ranges (A, B, A). Hyperparameters
are float32-representable so torch (Python doubles) and zhuyi (floats) use the same values.
"""
import math
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

import refio  # noqa: E402

warnings.filterwarnings("ignore")  # SequentialLR's step(0) deprecation notice
torch.manual_seed(1234)

SIZES = [(37,), (5, 7), (64,)]
COUNTS = [math.prod(s) for s in SIZES]
OFFSETS = [sum(COUNTS[:i]) for i in range(len(COUNTS))]
N = sum(COUNTS)
STEPS = 10


def f32(x):
    """The float32 value nearest x, as a Python float (what a C float holds)."""
    return float(torch.tensor(x, dtype=torch.float32))


def make_params(flat):
    return [flat[o:o + c].clone().reshape(s).requires_grad_(True)
            for o, c, s in zip(OFFSETS, COUNTS, SIZES)]


def flat_of(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors])


init = torch.randn(N)
grads = torch.randn(STEPS, N) * torch.linspace(0.1, 3.0, N)  # varied per-element scales
out = {"init": init, "grads": grads,
       "groups": torch.tensor([[o, c] for o, c in zip(OFFSETS, COUNTS)], dtype=torch.int32)}


def run(opt, params, lrs=None):
    """10 steps with the stored gradients; returns params after each step (STEPS, N)."""
    after = []
    for s in range(STEPS):
        if lrs is not None:
            for g in opt.param_groups:
                g["lr"] = lrs[s]
        for p, o, c in zip(params, OFFSETS, COUNTS):
            p.grad = grads[s, o:o + c].clone().reshape(p.shape)
        opt.step()
        after.append(flat_of(params))
    return torch.stack(after)


def state_flat(opt, params, key):
    return torch.cat([opt.state[p][key].reshape(-1) for p in params])


# ---- AdamW: two groups (wd 0.1 / 0), a changing lr, betas (0.9, 0.95) ----------------------
b1, b2, eps, wd = f32(0.9), f32(0.95), f32(1e-8), f32(0.1)
lrs = [f32(1e-2 * (1.0 - 0.05 * s)) for s in range(STEPS)]
params = make_params(init)
opt = torch.optim.AdamW([{"params": [params[0], params[2]], "weight_decay": wd},
                         {"params": [params[1]], "weight_decay": 0.0}],
                        lr=lrs[0], betas=(b1, b2), eps=eps)
out["adamw.after"] = run(opt, params, lrs)
out["adamw.m"] = state_flat(opt, params, "exp_avg")
out["adamw.v"] = state_flat(opt, params, "exp_avg_sq")
out["adamw.lr"] = torch.tensor(lrs)
out["adamw.hyper"] = torch.tensor([b1, b2, eps])
out["adamw.wd"] = torch.tensor([wd, 0.0, wd])  # per zhuyi range

# ---- SGD: four configurations ---------------------------------------------------------------
# hyper = momentum, dampening, weight decay of group A (B has 0 unless "flat"), nesterov, flat
SGD_CASES = {
    "momentum": (f32(0.9), 0.0, 0.0, 0, 0),
    "nesterov": (f32(0.9), 0.0, f32(0.01), 1, 0),
    "dampening": (f32(0.9), f32(0.1), f32(0.05), 0, 0),
    "plain": (0.0, 0.0, f32(0.05), 0, 1),  # no momentum, one decay for everything
}
sgd_lr = f32(0.05)
out["sgd.lr"] = torch.tensor([sgd_lr])
for name, (mom, damp, swd, nest, flat) in SGD_CASES.items():
    params = make_params(init)
    if flat:
        groups = [{"params": params, "weight_decay": swd}]
    else:
        groups = [{"params": [params[0], params[2]], "weight_decay": swd},
                  {"params": [params[1]], "weight_decay": 0.0}]
    opt = torch.optim.SGD(groups, lr=sgd_lr, momentum=mom, dampening=damp,
                          nesterov=bool(nest))
    out["sgd.%s.after" % name] = run(opt, params)
    if mom != 0:
        out["sgd.%s.buf" % name] = state_flat(opt, params, "momentum_buffer")
    out["sgd.%s.hyper" % name] = torch.tensor([mom, damp, swd, nest, flat],
                                              dtype=torch.float64)

# ---- clip_grad_norm_: one case above the threshold, one below -------------------------------
cg = torch.randn(N) * 0.3
out["clip.grads"] = cg
norm = float(cg.double().norm())
for name, max_norm in (("above", f32(0.5 * norm)), ("below", f32(2.0 * norm))):
    params = make_params(init)
    for p, o, c in zip(params, OFFSETS, COUNTS):
        p.grad = cg[o:o + c].clone().reshape(p.shape)
    ret = torch.nn.utils.clip_grad_norm_(params, max_norm)
    out["clip.%s.max_norm" % name] = torch.tensor([max_norm])
    out["clip.%s.norm" % name] = ret.reshape(1)
    out["clip.%s.grads" % name] = torch.cat([p.grad.reshape(-1) for p in params])


# ---- schedules: torch's lr at every step, read before the step that uses it -----------------
def record(opt, sched, steps):
    lr = []
    for _ in range(steps):
        lr.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lr


def sched_case(name, kind, lr, min_lr, warmup, total, d_model, build, steps):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    got = record(opt, build(opt), steps)
    out["sched.%s.cfg" % name] = torch.tensor([kind, lr, min_lr, warmup, total, d_model],
                                              dtype=torch.float64)
    out["sched.%s.lr" % name] = torch.tensor(got, dtype=torch.float64)
    return got


LR = torch.optim.lr_scheduler


def warmup_lr(opt, w):
    # (step+1)/w of the peak for step < w: LinearLR from 1/w to 1 over w-1 steps.
    return LR.LinearLR(opt, start_factor=1.0 / w, end_factor=1.0, total_iters=w - 1)


# CONSTANT: warmup 8, then the peak.
sched_case("constant", 0, f32(1e-3), 0.0, 8, 0, 0, lambda o: warmup_lr(o, 8), 20)
# COSINE: warmup 10, cosine to min_lr at 100, min_lr after (ConstantLR holds the floor).
c_lr, c_min = f32(1e-3), f32(1e-4)
sched_case("cosine", 1, c_lr, c_min, 10, 100, 0, lambda o: LR.SequentialLR(
    o, [warmup_lr(o, 10), LR.CosineAnnealingLR(o, T_max=90, eta_min=c_min),
        LR.ConstantLR(o, factor=c_min / c_lr, total_iters=10**9)], milestones=[10, 100]), 111)
# LINEAR: warmup 5, linear decay to 0 at 50 (LinearLR stays at its end factor after).
sched_case("linear", 2, f32(6e-4), 0.0, 5, 50, 0, lambda o: LR.SequentialLR(
    o, [warmup_lr(o, 5), LR.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=45)],
    milestones=[5]), 61)
# NOAM (Vaswani et al. 2017): LambdaLR over the factor, s = step + 1.
nd, nw = 512, 4000
noam = sched_case("noam", 3, 2.0, 0.0, nw, 0, nd, lambda o: LR.LambdaLR(
    o, lambda e: nd ** -0.5 * min((e + 1) ** -0.5, (e + 1) * nw ** -1.5)), 12001)
keep = [0, 1, 2, 100, 3998, 3999, 4000, 4001, 8000, 12000]
out["sched.noam.steps"] = torch.tensor(keep, dtype=torch.int32)
out["sched.noam.lr"] = torch.tensor([noam[i] for i in keep], dtype=torch.float64)

refio.write(os.path.join(os.path.dirname(__file__), "ref", "optim.zyr"), out)
