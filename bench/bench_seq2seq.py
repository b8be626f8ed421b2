"""PyTorch side of bench/bench_seq2seq.c, a seq2seq training step: a plain-torch
transformer-base encoder-decoder (6 + 6 layers, d_model 512, 8 heads, FFN 2048, post-LN,
ReLU, no dropout unless --dropout; nn.TransformerEncoderLayer / DecoderLayer with
batch_first, norm_first=False, no final LayerNorm), one embedding shared by source,
target and the output projection (tied, no bias; embeddings scaled by sqrt(d_model)),
sinusoidal positions, vocab 8000, float32, random init. One training step -- forward +
label-smoothed cross-entropy (0.1) + backward + AdamW(lr 5e-4, betas (0.9, 0.98), eps
1e-9, weight decay 0.01 on matmul weights) -- on random token pairs, B=128 pairs of 32
source and 32 target tokens (4,096 target tokens a batch), no padding, causal target
mask; median over `steps` steps after one warm-up (bench/torch_steps.py's timer). Then
the same step under torch.autocast("cpu", dtype=torch.bfloat16) where the CPU has
AVX512-BF16 or AMX (bf16 matmuls in oneDNN, fp32 master weights), beside zhuyi's bf16 step.

PyTorch at its best: bench/torch_peer.py runs this under each OPENBLAS_CORETYPE and thread
setting for $ZY_THREADS (else all cores) threads, prints every figure, then the best
(with ZY_BENCH_QUICK=1 and no --steps: one step after the warm-up).
tokens/s counts target tokens (the tokens the loss is over), B * tgt_len / step time.
GFLOP/s uses this file's train_flops (matmuls, attention in full, 3x forward).
Run: /usr/bin/python3 bench/bench_seq2seq.py [--steps N] [--batch B] [--src-len S]
     [--tgt-len T] [--vocab V] [--dropout P]
"""
import argparse
import math

import torch_peer

ARGS = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ARGS.add_argument("--steps", type=int, default=1 if torch_peer.QUICK else 5)
ARGS.add_argument("--batch", type=int, default=128)
ARGS.add_argument("--src-len", type=int, default=32)
ARGS.add_argument("--tgt-len", type=int, default=32)
ARGS.add_argument("--vocab", type=int, default=8000)
ARGS.add_argument("--dropout", type=float, default=0.0)
A = ARGS.parse_args()

if __name__ == "__main__":
    torch_peer.run_configs(bf16=True)  # the parent: one child per configuration, then exits

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch_steps import time_steps  # noqa: E402

L_ENC, L_DEC, D, H, FF = 6, 6, 512, 8, 2048


def train_flops(b, s, t, v):
    enc = L_ENC * (2.0 * b * s * (4 * D * D + 2 * D * FF) + 2.0 * 2.0 * b * s * s * D)
    dec = L_DEC * (2.0 * b * t * (4 * D * D + 2 * D * D + 2 * D * FF) + 2.0 * b * s * 2 * D * D
                   + 2.0 * 2.0 * b * t * t * D + 2.0 * 2.0 * b * t * s * D)
    head = 2.0 * b * t * D * v
    return 3.0 * (enc + dec + head)


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(A.vocab, D)
        self.enc = nn.ModuleList(nn.TransformerEncoderLayer(
            D, H, FF, A.dropout, activation="relu", batch_first=True, norm_first=False)
            for _ in range(L_ENC))
        self.dec = nn.ModuleList(nn.TransformerDecoderLayer(
            D, H, FF, A.dropout, activation="relu", batch_first=True, norm_first=False)
            for _ in range(L_DEC))
        n = max(A.src_len, A.tgt_len)
        pos = torch.arange(n).unsqueeze(1)
        div = torch.exp(torch.arange(0, D, 2) * (-math.log(10000.0) / D))
        pe = torch.zeros(n, D)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        self.register_buffer("pe", pe)
        self.register_buffer("causal", torch.triu(
            torch.full((A.tgt_len, A.tgt_len), float("-inf")), diagonal=1))
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.xavier_uniform_(p)
        nn.init.normal_(self.emb.weight, 0.0, D ** -0.5)

    def embed(self, ids):
        return self.emb(ids) * math.sqrt(D) + self.pe[:ids.shape[1]]

    def forward(self, src, tgt_in, tgt_out):
        m = self.embed(src)
        for layer in self.enc:
            m = layer(m)
        x = self.embed(tgt_in)
        for layer in self.dec:
            x = layer(x, m, tgt_mask=self.causal)
        logits = x @ self.emb.weight.t()  # tied output projection
        return F.cross_entropy(logits.reshape(-1, A.vocab), tgt_out.reshape(-1),
                               label_smoothing=0.1)


def main():
    torch.set_num_threads(torch_peer.THREADS)
    torch.manual_seed(1)
    model = Seq2Seq()
    g = torch.Generator().manual_seed(1)
    src = torch.randint(0, A.vocab, (A.batch, A.src_len), generator=g)
    tgt = torch.randint(0, A.vocab, (A.batch, A.tgt_len + 1), generator=g)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n != "emb.weight"]
    rest = [p for n, p in model.named_parameters()
            if not (p.dim() == 2 and n != "emb.weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": rest, "weight_decay": 0.0}],
                            lr=5e-4, betas=(0.9, 0.98), eps=1e-9)
    flops = train_flops(A.batch, A.src_len, A.tgt_len, A.vocab)
    tok = A.batch * A.tgt_len  # target tokens: the tokens the loss is over
    for bf16 in (False, True) if torch_peer.has_bf16() else (False,):
        def loss_fn():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return model(src, tgt[:, :-1], tgt[:, 1:])

        f, b, o, step, fastest, loss = time_steps(A.steps, loss_fn, opt)
        kind = "bf16 autocast" if bf16 else "fp32"
        torch_peer.report(
            "transformer-base step " + kind, 1e3 * step, "ms",
            "torch  transformer-base train step B=%d S=%d T=%d V=%d threads=%d %s: %8.1f ms  "
            "(fwd %.1f, bwd %.1f, adamw %.1f)  %.0f target tok/s  %.1f GFLOP/s  "
            "[min %.1f ms; %.1f GFLOP/step, loss %.3f]"
            % (A.batch, A.src_len, A.tgt_len, A.vocab, torch.get_num_threads(), kind,
               1e3 * step, 1e3 * f, 1e3 * b, 1e3 * o, tok / step, flops / step * 1e-9,
               1e3 * fastest, flops * 1e-9, loss))


if __name__ == "__main__":
    main()
