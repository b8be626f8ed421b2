"""PyTorch side of bench/bench_bert.c: a plain-torch BERT-base for pretraining (Hugging
Face's BertForPreTraining computation: 12 post-LN layers, 12 heads, 768 wide, FF 3072,
512 positions, 2 segments, V 30522, GELU (erf), the MLM head -- dense, GELU, LayerNorm,
decoder tied to the word embeddings plus a bias -- and the pooler + NSP head; no dropout),
float32, random init. One training step -- forward + MLM and NSP cross-entropy +
backward + AdamW(lr 1e-4, betas (0.9, 0.95), weight decay 0.1 on matmul weights) -- at
B=8, T=128, no padding, 19 masked positions a row, median over `steps` steps after one
warm-up. Two rows, as bench_bert.c: the MLM head over every position (what
BertForPreTraining does), and over the masked positions only (gathered first, as
NVIDIA's BERT pretraining does). Both rows in fp32, then with the forward under
torch.autocast("cpu", dtype=torch.bfloat16) where the CPU has AVX512-BF16 or AMX (bf16
matmuls in oneDNN, fp32 master weights and optimizer), beside zhuyi's bf16 rows; each row
from the same initial weights. q, k and v are one fused (3C, C) Linear, the faster
form. PyTorch at its best: bench/torch_peer.py runs this under each OPENBLAS_CORETYPE and
thread setting for $ZY_THREADS (else all cores) threads, prints every figure, then the
best of each row (with ZY_BENCH_QUICK=1: one step after the warm-up).
GFLOP/s uses the formula of zhuyi's bert_train_flops (head over every position).
Run: /usr/bin/python3 bench/bench_bert.py [steps]
"""
import math
import sys

import torch_peer

if __name__ == "__main__":
    torch_peer.run_configs(bf16=True)  # the parent: one child per configuration, then exits

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch_steps import time_steps  # noqa: E402

L, H, C, FF, NPOS, TV, V = 12, 12, 768, 3072, 512, 2, 30522
B, T, MASKED = 8, 128, 19


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(C, 3 * C)
        self.attn_out = nn.Linear(C, C)
        self.ln1 = nn.LayerNorm(C, eps=1e-12)
        self.inter = nn.Linear(C, FF)
        self.out = nn.Linear(FF, C)
        self.ln2 = nn.LayerNorm(C, eps=1e-12)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(b, t, H, C // H).transpose(1, 2)
        k = k.view(b, t, H, C // H).transpose(1, 2)
        v = v.view(b, t, H, C // H).transpose(1, 2)
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(C // H)).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, C)
        h = self.ln1(x + self.attn_out(y))
        return self.ln2(h + self.out(F.gelu(self.inter(h))))


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.word = nn.Embedding(V, C)
        self.pos = nn.Embedding(NPOS, C)
        self.seg = nn.Embedding(TV, C)  # (not self.type: nn.Module.type is a method)
        self.eln = nn.LayerNorm(C, eps=1e-12)
        self.layers = nn.ModuleList(Layer() for _ in range(L))
        self.pool = nn.Linear(C, C)
        self.nsp = nn.Linear(C, 2)
        self.tr = nn.Linear(C, C)
        self.tr_ln = nn.LayerNorm(C, eps=1e-12)
        self.mlm_bias = nn.Parameter(torch.zeros(V))
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids, types, targets, labels, masked_only):
        t = ids.shape[1]
        x = self.eln(self.word(ids) + self.pos(torch.arange(t)) + self.seg(types))
        for layer in self.layers:
            x = layer(x)
        nsp = self.nsp(torch.tanh(self.pool(x[:, 0])))
        h = x.reshape(-1, C)
        y = targets.reshape(-1)
        if masked_only:
            keep = (y >= 0).nonzero().squeeze(1)
            h, y = h.index_select(0, keep), y.index_select(0, keep)
        # (.float(): under bf16 autocast the dense layer's output is bf16, and PyTorch 1.13's
        # CPU layer_norm refuses a bf16 input with fp32 weights; a no-op in fp32)
        h = self.tr_ln(F.gelu(self.tr(h)).float())
        logits = h @ self.word.weight.t() + self.mlm_bias  # tied decoder
        return F.cross_entropy(logits, y, ignore_index=-1) + F.cross_entropy(nsp, labels)


def train_flops(b, t):
    per_token = 2.0 * L * (4.0 * C * C + 2.0 * C * FF) + 2.0 * (C * C + C * V)
    per_row = 2.0 * C * C + 2.0 * 2.0 * C
    attn = L * 2.0 * 2.0 * b * t * t * C
    return 3.0 * (per_token * b * t + per_row * b + attn)


def batch():
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, V, (B, T), generator=g)
    types = (torch.arange(T) >= T // 2).long().expand(B, T).contiguous()
    targets = torch.full((B, T), -1, dtype=torch.long)
    for r in range(B):
        pos = 1 + torch.randperm(T - 1, generator=g)[:MASKED]
        targets[r, pos] = torch.randint(0, V, (MASKED,), generator=g)
    labels = torch.randint(0, 2, (B,), generator=g)
    return ids, types, targets, labels


def train_step_bench(steps, masked_only, bf16):
    torch.manual_seed(1)
    model = Bert()
    ids, types, targets, labels = batch()
    emb = ("word.weight", "pos.weight", "seg.weight")
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n not in emb]
    rest = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n not in emb)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)

    def loss_fn():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(ids, types, targets, labels, masked_only)

    f, b, o, step, fastest, loss = time_steps(steps, loss_fn, opt)
    flops = train_flops(B, T)
    kind = "bf16 autocast" if bf16 else "fp32"
    torch_peer.report(
        "bert step %s, MLM head %s" % (kind, "at masked only" if masked_only
                                       else "at every position"),
        1e3 * step, "ms",
        "torch  bert-base train step B=%d T=%d threads=%d %s, MLM head %-17s %8.1f ms  (fwd "
        "%.1f, bwd %.1f, adamw %.1f)  %.1f GFLOP/s  [min %.1f ms; %.1f GFLOP/step, loss %.3f]"
        % (B, T, torch.get_num_threads(), kind,
           "at masked only:" if masked_only else "at every position:", 1e3 * step,
           1e3 * f, 1e3 * b, 1e3 * o, flops / step * 1e-9, 1e3 * fastest,
           flops * 1e-9, loss))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 1 if torch_peer.QUICK else 5
    torch.set_num_threads(torch_peer.THREADS)
    print("torch %s" % torch.__version__, flush=True)
    for bf16 in (False, True) if torch_peer.has_bf16() else (False,):
        train_step_bench(steps, False, bf16)
        train_step_bench(steps, True, bf16)


if __name__ == "__main__":
    main()
