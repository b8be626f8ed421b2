"""PyTorch side of bench/bench_mha.c: torch.nn.MultiheadAttention self-attention forward
+ backward, batch_first, B=4, C=768, H=12, T in {128, 512}, no mask, dropout 0, float32.
Median of `reps` runs after one warm-up (2 with ZY_BENCH_QUICK=1). PyTorch at its best:
bench/torch_peer.py runs this under each OPENBLAS_CORETYPE and thread setting for
$ZY_THREADS (else all cores) threads, prints every figure, then the best per T.
Run: /usr/bin/python3 bench/bench_mha.py [reps]
"""
import sys
import time

import torch_peer

if __name__ == "__main__":
    torch_peer.run_configs()  # the parent: one child per configuration, then exits

import torch  # noqa: E402


def run(B, T, C, H, reps):
    torch.manual_seed(1)
    m = torch.nn.MultiheadAttention(C, H, dropout=0.0, batch_first=True)
    x = torch.randn(B, T, C, requires_grad=True)
    dout = torch.randn(B, T, C)
    tf, tb = [], []
    for i in range(reps + 1):
        m.zero_grad(set_to_none=True)
        x.grad = None
        t0 = time.perf_counter()
        out, _ = m(x, x, x, need_weights=False)
        t1 = time.perf_counter()
        out.backward(dout)
        t2 = time.perf_counter()
        if i > 0:
            tf.append(t1 - t0)
            tb.append(t2 - t1)
    tt = sorted(a + b for a, b in zip(tf, tb))
    tf.sort()
    tb.sort()
    torch_peer.report(
        "mha T=%d fwd+bwd" % T, 1e3 * tt[reps // 2], "ms",
        "torch  mha self B=%d T=%-4d C=%d H=%d threads=%d: fwd %8.2f ms  bwd %8.2f ms  "
        "fwd+bwd %8.2f ms" % (B, T, C, H, torch.get_num_threads(), 1e3 * tf[reps // 2],
                              1e3 * tb[reps // 2], 1e3 * tt[reps // 2]))


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 2 if torch_peer.QUICK else 5
    torch.set_num_threads(torch_peer.THREADS)
    print("torch", torch.__version__)
    run(4, 128, 768, 12, reps)
    run(4, 512, 768, 12, reps)


if __name__ == "__main__":
    main()
