"""PyTorch reference for zhuyi's pretraining loop (tests/test_trainer_ref.c).

Run from the repo root: /usr/bin/python3 tests/ref_trainer.py

Trains a small GPT-2 (the plain-torch model of tests/ref_gpt.py, Hugging Face names and
layouts) for 6 steps exactly as `zhuyi pretrain gpt --no-shuffle --dropout 0` does:
  batching   one token stream; each micro-batch reads B*T+1 tokens from position p,
             inputs = first B*T as (B, T), targets shifted by one; p += B*T, back to 0
             when fewer than B*T+1 remain (the stream here wraps twice in 6 steps)
  step       grad_accum micro-batches, loss / grad_accum each, summed gradients;
             clip_grad_norm_(all, 1.0); AdamW(betas (0.9, 0.95), eps 1e-8) with weight
             decay 0.1 on the matmul weights only (c_attn, c_proj, c_fc), none on
             embeddings, layernorms and biases; lr from warmup + cosine (zy_schedule_lr)
Computed in float64 from float32 initial weights. Writes tests/ref/trainer.zyr: the
initial weights (HF names and layouts), the token stream, the 6 step losses (mean over
micro-batches) and the weights after the 6 steps.
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

import refio  # noqa: E402
from ref_gpt import forward, init_params  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

CFG = {"n_layer": 2, "n_head": 2, "n_embd": 16, "n_positions": 16, "vocab_size": 40,
       "layer_norm_epsilon": 1e-5}
B, T, ACCUM, STEPS = 2, 8, 2, 6
LR, MIN_LR, WARMUP, WD, CLIP = 3e-3, 3e-4, 2, 0.1, 1.0
N_TOKENS = 3 * B * T + 7  # p runs 0, 16, 32, 0, ...: a wrap every third micro-batch


def lr_at(step):
    """zy_schedule_lr, cosine: warmup lr*(s+1)/W, then cosine to MIN_LR at STEPS."""
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    r = (step - WARMUP) / (STEPS - WARMUP)
    return MIN_LR + 0.5 * (1 + math.cos(math.pi * r)) * (LR - MIN_LR)


def decays(name):
    return name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight"))


def main():
    torch.manual_seed(7)
    gen = torch.Generator().manual_seed(20241123)
    p32 = init_params(CFG, gen)
    # Scale the random weights down to GPT-2-like magnitudes so training behaves.
    for n in p32:
        if not (".ln_" in n and n.endswith("weight")):
            p32[n] = (p32[n] * 0.3).float()
    tokens = torch.randint(0, CFG["vocab_size"], (N_TOKENS,), generator=gen)

    params = {n: t.double().clone().requires_grad_(True) for n, t in p32.items()}
    groups = [{"params": [params[n] for n in params if decays(n)], "weight_decay": WD},
              {"params": [params[n] for n in params if not decays(n)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.95), eps=1e-8)
    pos, losses = 0, []
    for step in range(STEPS):
        opt.zero_grad()
        total = 0.0
        for _ in range(ACCUM):
            chunk = tokens[pos:pos + B * T + 1]
            x, y = chunk[:-1].view(B, T), chunk[1:].view(B, T)
            pos += B * T
            if N_TOKENS - pos < B * T + 1:
                pos = 0
            logits = forward(params, CFG, x)
            loss = torch.nn.functional.cross_entropy(logits.view(-1, CFG["vocab_size"]),
                                                     y.reshape(-1))
            (loss / ACCUM).backward()
            total += loss.item()
        torch.nn.utils.clip_grad_norm_(list(params.values()), CLIP)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.step()
        losses.append(total / ACCUM)
        print("step %d loss %.6f lr %.6g" % (step + 1, losses[-1], lr_at(step)))

    dump = {"tokens": tokens, "losses": torch.tensor(losses)}
    for n, t in p32.items():
        dump["init." + n] = t
    for n, t in params.items():
        dump["final." + n] = t.detach()
    refio.write(os.path.join(HERE, "ref", "trainer.zyr"), dump)


if __name__ == "__main__":
    main()
