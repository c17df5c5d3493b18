"""Independent numpy reference for the samplers' known-answer tests (daemon/engine/*.test.ts).

Data: x0 ~ N(mu, s^2) per element. Under the cosine schedule of models/PACKAGE.md, the exact x0 predictor is
E[x0 | x_t] = mu + alpha s^2 / (alpha^2 s^2 + sigma^2) · (x_t − alpha mu), and the probability-flow ODE keeps
z = (x_t − alpha mu) / sqrt(alpha^2 s^2 + sigma^2) constant, so the exact clean endpoint is mu + s z.
Run: /usr/bin/python3 daemon/engine/testdata/sampler-reference.py
"""
import math

import numpy as np

S, T_MIN, T_MAX = 0.008, 0.0, 0.999


def alpha(t):
    return min(1.0, max(0.0, math.cos(math.pi / 2 * (t + S) / (1 + S)) / math.cos(math.pi / 2 * S / (1 + S))))


def sigma(t):
    return math.sqrt(max(0.0, 1 - alpha(t) ** 2))


def lam(t):
    return math.log(alpha(t)) - math.log(sigma(t))


def t_of_lambda(l):
    a = 1 / math.sqrt(1 + math.exp(-2 * l))
    return 2 / math.pi * math.acos(a * math.cos(math.pi / 2 * S / (1 + S))) * (1 + S) - S


def grid(steps, spacing):
    """steps + 1 times from T_MAX: evaluations, then where the last step lands (schedule.ts samplingGrid)."""
    if spacing == "time":
        return [T_MAX - i * (T_MAX - T_MIN) / steps for i in range(steps + 1)]
    l0, l1 = lam(T_MAX), lam(T_MIN + 1e-3)
    return [T_MAX] + [t_of_lambda(l0 + (l1 - l0) * i / steps) for i in range(1, steps + 1)]


def x0_exact(x, t, mu, s):
    a, sg = alpha(t), sigma(t)
    return mu + a * s * s / (a * a * s * s + sg * sg) * (x - a * mu)


def ddim(x, steps, mu, s, spacing="time"):
    ts = grid(steps, spacing)
    for i in range(steps):
        d = x0_exact(x, ts[i], mu, s)
        eps = (x - alpha(ts[i]) * d) / sigma(ts[i])
        x = alpha(ts[i + 1]) * d + sigma(ts[i + 1]) * eps
    return x


def dpmpp_2m(x, steps, mu, s, spacing="logsnr"):
    ts = grid(steps, spacing)
    prev_d, prev_h = None, None
    for i in range(steps):
        d = x0_exact(x, ts[i], mu, s)
        if sigma(ts[i + 1]) == 0:
            x = alpha(ts[i + 1]) * d
            break
        if i == steps - 1 and steps < 15:
            return d  # under 15 steps the last step is first order: the clean part of the sample it lands on is d
        h = lam(ts[i + 1]) - lam(ts[i])
        blend = d if prev_d is None else (1 + 1 / (2 * prev_h / h)) * d - 1 / (2 * prev_h / h) * prev_d
        if i == steps - 1:
            return blend  # the clean part of the sample the last 2M step lands on
        x = sigma(ts[i + 1]) / sigma(ts[i]) * x - alpha(ts[i + 1]) * math.expm1(-h) * blend
        prev_d, prev_h = d, h
    return x


def exact_endpoint(x, mu, s):
    a, sg = alpha(T_MAX), sigma(T_MAX)
    return mu + s * (x - a * mu) / math.sqrt(a * a * s * s + sg * sg)


if __name__ == "__main__":
    np.set_printoptions(precision=9)
    x_T = np.array([-1.5, -0.3, 0.0, 0.7, 2.1])
    mu, s = 0.25, 0.5
    print("x_T", x_T.tolist(), "mu", mu, "s", s)
    print("exact endpoint", exact_endpoint(x_T, mu, s).tolist())
    for steps in (4, 8):
        print(f"ddim {steps} time-uniform", ddim(x_T, steps, mu, s).tolist())
        print(f"dpmpp-2m {steps} logsnr-uniform", dpmpp_2m(x_T, steps, mu, s).tolist())
    print("spacing study: max |error| against the exact endpoint, mu=0.25, s in (0.05, 0.5)")
    for s_ in (0.05, 0.5):
        for steps in (4, 6, 8, 12, 20):
            exact = exact_endpoint(x_T, mu, s_)
            row = {name: float(np.abs(fn(x_T, steps, mu, s_, sp) - exact).max())
                   for name, fn, sp in (("ddim/time", ddim, "time"), ("ddim/logsnr", ddim, "logsnr"),
                                        ("2m/time", dpmpp_2m, "time"), ("2m/logsnr", dpmpp_2m, "logsnr"))}
            print(f"s={s_} steps={steps}", {k: f"{v:.2e}" for k, v in row.items()})
