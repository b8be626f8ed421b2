"""Reference for zhuyi's log-mel features (tests/test_audio.c; rules in include/zhuyi/audio.h).

Run from the repo root: /usr/bin/python3 tests/ref_mel.py

Written from the rules, not from src/data/mel.c: torch.stft (n_fft 400, hop 160, periodic
torch.hann_window(400), center=True, pad_mode="reflect", onesided), power |X|^2, the mel
filters of librosa.filters.mel(sr=16000, n_fft=400, n_mels=80, fmin=0, fmax=8000,
htk=False, norm="slaney") rebuilt here in numpy (librosa is not a Debian package), then
ln(max(e, 1e-10)), all in float64. A second signal of 150 samples (shorter than the 200 of
padding, which torch.stft refuses) goes through numpy: np.pad(mode="reflect") reflects
again off the far end, the rule audio.h states.
Writes tests/ref/mel.zyr: signal (6400) = 0.4 s of 440 Hz + 1234.5 Hz + 3000 Hz sines and
Gaussian noise, mel (41, 80); short (150), short_mel (1, 80); filters (80, 201).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import refio  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SR, N_FFT, HOP, N_MELS = 16000, 400, 160, 80


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = np.log(6.4) / 27.0
    lin = f / f_sp
    log = min_log_hz / f_sp + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, log, lin)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)),
                    m * f_sp)


def mel_filters():
    fftfreqs = np.linspace(0, SR / 2, 1 + N_FFT // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(8000.0), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0, np.minimum(lower, upper))
    return w * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]


def logmel_torch(x, fb):
    win = torch.hann_window(N_FFT, periodic=True, dtype=torch.float64)
    X = torch.stft(torch.from_numpy(x), N_FFT, hop_length=HOP, win_length=N_FFT, window=win,
                   center=True, pad_mode="reflect", onesided=True, return_complex=True)
    power = X.abs() ** 2  # (201, frames)
    e = torch.from_numpy(fb) @ power
    return torch.log(torch.clamp(e, min=1e-10)).T  # (frames, 80)


def logmel_numpy(x, fb):
    xp = np.pad(x, N_FFT // 2, mode="reflect")
    n_frames = 1 + len(x) // HOP
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    frames = np.stack([xp[t * HOP:t * HOP + N_FFT] * win for t in range(n_frames)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    return np.log(np.maximum(power @ fb.T, 1e-10))


def main():
    rng = np.random.default_rng(20261203)
    t = np.arange(6400) / SR
    x = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 1234.5 * t + 0.3) +
         0.1 * np.sin(2 * np.pi * 3000 * t) + 0.05 * rng.standard_normal(6400))
    x = x.astype(np.float32).astype(np.float64)  # the C test reads the float32 values
    fb = mel_filters()
    mel = logmel_torch(x, fb)
    assert mel.shape == (1 + 6400 // HOP, N_MELS)
    # The two paths agree where both apply.
    assert np.abs(mel.numpy() - logmel_numpy(x, fb)).max() < 1e-9
    short = x[1000:1150]
    short_mel = logmel_numpy(short, fb)
    refio.write(os.path.join(HERE, "ref", "mel.zyr"), {
        "signal": torch.from_numpy(x), "mel": mel,
        "short": torch.from_numpy(short), "short_mel": torch.from_numpy(short_mel),
        "filters": torch.from_numpy(fb)})


if __name__ == "__main__":
    main()
