"""PyTorch side of bench/bench_gpt.c: a plain-torch GPT-2 124M (12 layers, 12 heads, 768
wide, n_positions 1024, V 50257, GELU-tanh, pre-LN, tied LM head, no dropout), float32
parameters, random init. (1) One training step -- forward + cross-entropy + backward +
AdamW(lr 6e-4, betas (0.9, 0.95), weight decay 0.1 on matmul weights) -- at B=4, T=64,
median over `steps` steps after one warm-up, in fp32 and again with the forward under
torch.autocast("cpu", dtype=torch.bfloat16) (bf16 matmuls in oneDNN, fp32 master weights
and optimizer), each from the same initial weights; (2) greedy generation in fp32 with a
KV cache, a 20-token prompt then 100 new tokens, under torch.no_grad(). GFLOP/s uses the
formula of zy_gpt_train_flops. PyTorch at its best: bench/torch_peer.py runs this under
each OPENBLAS_CORETYPE and thread setting for $ZY_THREADS (else all cores) threads, prints
every figure, then the best of each measurement (with ZY_BENCH_QUICK=1: two steps after
the warm-up, 20 new tokens, one generation after the warm-up).
Run: /usr/bin/python3 bench/bench_gpt.py [steps] [new_tokens]
"""
import math
import sys
import time

import torch_peer

if __name__ == "__main__":
    torch_peer.run_configs(bf16=True)  # the parent: one child per configuration, then exits

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch_steps import time_steps  # noqa: E402

L, H, C, NPOS, V = 12, 12, 768, 1024, 50257


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def forward(self, x, past=None):
        B, T, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q = q.view(B, T, H, C // H).transpose(1, 2)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        if past is not None:  # decoding: append to the cache
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        Tk = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        # causal: query i (absolute position Tk - T + i) sees keys 0 .. Tk - T + i
        mask = torch.ones(T, Tk, dtype=torch.bool).tril(diagonal=Tk - T)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, (k, v)


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(NPOS, C)
        self.h = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(C, eps=1e-5)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight") or name.endswith("mlp_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * L))
            elif p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, cache=None, pos0=0):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(pos0, pos0 + T))
        new_cache = []
        for i, blk in enumerate(self.h):
            x, kv = blk(x, None if cache is None else cache[i])
            new_cache.append(kv)
        return self.ln_f(x) @ self.wte.weight.t(), new_cache  # tied LM head


def train_flops(B, T):
    per_token = 2.0 * (L * 12.0 * C * C + C * V)
    attn = L * 2.0 * 2.0 * B * T * T * C
    return 3.0 * (per_token * B * T + attn)


def train_step_bench(model, steps, bf16):
    B, T = 4, 64
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, V, (B, T), generator=g)
    y = torch.randint(0, V, (B, T), generator=g)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "wte" not in n
             and "wpe" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "wte" not in n
                                                           and "wpe" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95), eps=1e-8)

    def loss_fn():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(x)
            return F.cross_entropy(logits.view(-1, V), y.view(-1))

    f, b, o, step, fastest, loss = time_steps(steps, loss_fn, opt)
    flops = train_flops(B, T)
    kind = "bf16 autocast" if bf16 else "fp32"
    torch_peer.report(
        "gpt2 train step " + kind, 1e3 * step, "ms",
        "torch  gpt2-124m train step B=%d T=%d threads=%d %-13s: %8.1f ms  (fwd %.1f, bwd "
        "%.1f, adamw %.1f)  %.1f GFLOP/s  [min %.1f ms; %.1f GFLOP/step, loss %.3f]"
        % (B, T, torch.get_num_threads(), kind, 1e3 * step, 1e3 * f, 1e3 * b, 1e3 * o,
           flops / step * 1e-9, 1e3 * fastest, flops * 1e-9, loss))


@torch.no_grad()
def generate_bench(model, new_tokens, reps):
    g = torch.Generator().manual_seed(2)
    prompt = torch.randint(0, V, (1, 20), generator=g)
    tot, dec = [], []
    for i in range(reps + 1):
        t0 = time.perf_counter()
        logits, cache = model(prompt)
        tok = logits[0, -1].argmax()
        t_first = time.perf_counter()
        pos = 20
        for _ in range(new_tokens - 1):
            logits, cache = model(tok.view(1, 1), cache, pos)
            pos += 1
            tok = logits[0, -1].argmax()
        t1 = time.perf_counter()
        if i > 0:
            tot.append(new_tokens / (t1 - t0))
            dec.append((new_tokens - 1) / (t1 - t_first))
    overall = sorted(tot)[reps // 2]
    torch_peer.report(
        "gpt2 greedy generation", overall, "tok/s",
        "torch  gpt2-124m greedy generation, KV cache, prompt 20 + %d new tokens, threads=%d: "
        "%.1f tok/s overall, %.1f tok/s per decode step"
        % (new_tokens, torch.get_num_threads(), overall, sorted(dec)[reps // 2]), higher=True)


def main():
    quick = torch_peer.QUICK
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2 if quick else 5
    new_tokens = int(sys.argv[2]) if len(sys.argv) > 2 else 20 if quick else 100
    torch.set_num_threads(torch_peer.THREADS)
    for bf16 in (False, True):  # each row from the same initial weights, as bench_gpt.c
        torch.manual_seed(1)
        model = GPT()
        train_step_bench(model, steps, bf16)
    model.eval()
    generate_bench(model, new_tokens, 1 if quick else 3)


if __name__ == "__main__":
    main()
