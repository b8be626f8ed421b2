# The PyTorch side's step timer, shared by bench/bench_gpt.py and bench/bench_bert.py (as
# bench/bench.h is the C side's): one warm-up step, then `steps` timed steps of forward
# (`loss_fn`), backward and the optimizer, each phase timed apart; medians as the C side
# takes them (the mean of the two middle values for an even count).
import time


def median(a):
    s = sorted(a)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def time_steps(steps, loss_fn, opt):
    """Returns the median forward, backward, optimizer and whole-step times in seconds,
    the fastest step, and the last loss."""
    tf, tb, to, tt = [], [], [], []
    for i in range(steps + 1):  # i = 0 is the warm-up
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i > 0:
            tf.append(t1 - t0), tb.append(t2 - t1), to.append(t3 - t2), tt.append(t3 - t0)
    return median(tf), median(tb), median(to), median(tt), min(tt), loss.item()
