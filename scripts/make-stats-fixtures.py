#!/usr/bin/env python3
"""Generates test/fixtures/stats/*.json: reference values from scipy and numpy (an implementation
independent of ours) for the statistics in src/stats. The fixtures are committed, so CI needs no Python.

    python3 -m venv .cache/stats-venv && .cache/stats-venv/bin/pip install numpy scipy
    .cache/stats-venv/bin/python scripts/make-stats-fixtures.py
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import stats
from scipy.stats._mannwhitneyu import _MWU

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "stats")
rng = np.random.default_rng(20261128)


def fl(a):
    return [float(v) for v in a]


def samples():
    """Named samples: shapes that show up in network measurements (skewed latency, goodput near a cap,
    heavy ties from coarse clocks), plus tiny edge cases."""
    out = {
        "one": [42.0],
        "two": [1.0, 3.0],
        "five": [5.0, 1.0, 4.0, 2.0, 3.0],
        "ties": fl(rng.integers(0, 6, size=40)),
        "normal37": fl(rng.normal(100, 15, size=37)),
        "lognormal1000": fl(rng.lognormal(np.log(51.0), 0.35, size=1000)),
        "goodput27": fl(9.4e9 - rng.gamma(2.0, 1.5e8, size=27)),
        "rtt5000": fl(np.round(rng.lognormal(np.log(60.0), 0.5, size=5000), 1)),
    }
    return out


def quantile_fixtures(data):
    methods = {4: "interpolated_inverted_cdf", 5: "hazen", 6: "weibull", 7: "linear", 8: "median_unbiased", 9: "normal_unbiased"}
    ps = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1]
    out = []
    for name, x in data.items():
        for t, m in methods.items():
            out.append({"sample": name, "type": t, "p": ps, "q": fl(np.quantile(np.array(x), ps, method=m))})
    return out


def descriptive_fixtures(data):
    out = []
    for name, x in data.items():
        a = np.array(x)
        n = len(a)
        rec = {"sample": name, "n": n, "mean": float(np.mean(a)), "min": float(a.min()), "max": float(a.max())}
        if n > 1:
            sd = float(np.std(a, ddof=1))
            sem = float(stats.sem(a))
            rec.update(sd=sd, sem=sem, moe=float(stats.t.ppf(0.975, n - 1) * sem))
        rec["median"] = float(np.median(a))
        rec["mad"] = float(stats.median_abs_deviation(a))
        rec["madScaled"] = float(stats.median_abs_deviation(a, scale="normal"))
        rec["iqr"] = float(stats.iqr(a))
        if n > 2:
            d = a - a.mean()
            rec["lag1"] = float(np.sum(d[:-1] * d[1:]) / np.sum(d * d)) if np.sum(d * d) > 0 else None
        # distribution-free median interval (binomial order statistics)
        if n >= 6:
            ci = stats.quantile_test(a, q=float(np.median(a)), p=0.5).confidence_interval(0.95)
            rec["medianInterval95"] = [float(ci.low), float(ci.high)]
        if n >= 30:
            ci = stats.quantile_test(a, q=float(np.quantile(a, 0.9)), p=0.9).confidence_interval(0.9)
            rec["p90Interval90"] = [float(ci.low), float(ci.high)]
        if n <= 2000:
            i, j = np.triu_indices(n)
            rec["hodgesLehmann"] = float(np.median((a[i] + a[j]) / 2))
        if n >= 3 and n <= 400:
            r = stats.theilslopes(a, np.arange(n), alpha=0.95)
            rec["theilSen"] = {"slope": float(r.slope), "intercept": float(r.intercept), "low": float(r.low_slope), "high": float(r.high_slope)}
        out.append(rec)
    return out


def hl_exact_interval(x, y, level):
    """Hodges-Lehmann shift of y against x with the exact interval from scipy's own Mann-Whitney null."""
    m, n = len(x), len(y)
    d = np.sort((np.asarray(y)[:, None] - np.asarray(x)[None, :]).ravel())
    dist = _MWU(m, n)
    tail = (1 - level) / 2
    k = 0
    while k + 1 <= m * n // 2 and float(dist.cdf(np.array([k]))[0]) <= tail * (1 + 1e-12):
        k += 1
    # k values 0..k-1 have cdf(k-1) <= tail; use order statistics k and mn+1-k (1-based)
    if k < 1:
        return None
    return [float(d[k - 1]), float(d[m * n - k])]


def two_sample_fixtures():
    out = []
    sizes = [(3, 3), (3, 4), (4, 4), (5, 5), (5, 8), (8, 7), (10, 12), (20, 25), (30, 40)]
    for m, n in sizes:
        for shift in (0.0, 0.03, 0.1):
            x = rng.lognormal(np.log(9e9), 0.02, size=m)
            y = rng.lognormal(np.log(9e9) - shift, 0.02, size=n)
            lx, ly = np.log(x), np.log(y)
            rec = {"m": m, "n": n, "x": fl(lx), "y": fl(ly), "ties": False}
            rec["u1"] = float(stats.mannwhitneyu(lx, ly, method="exact").statistic)
            rec["pExact"] = float(stats.mannwhitneyu(lx, ly, method="exact").pvalue)
            rec["pAsymptotic"] = float(stats.mannwhitneyu(lx, ly, method="asymptotic").pvalue)
            rec["hlEstimate"] = float(np.median((ly[:, None] - lx[None, :]).ravel()))
            for level in (0.9, 0.95):
                rec[f"hlInterval{int(level * 100)}"] = hl_exact_interval(lx, ly, level)
            t = stats.ttest_ind(ly, lx, equal_var=False)
            ci = t.confidence_interval(0.9)
            rec["welch"] = {"t": float(t.statistic), "p": float(t.pvalue), "df": float(t.df), "low90": float(ci.low), "high90": float(ci.high)}
            out.append(rec)
    # ties: coarse values
    for m, n in [(6, 7), (12, 15), (40, 35)]:
        x = fl(rng.integers(0, 8, size=m))
        y = fl(rng.integers(1, 9, size=n))
        r = stats.mannwhitneyu(x, y, method="asymptotic")
        out.append({"m": m, "n": n, "x": x, "y": y, "ties": True, "u1": float(r.statistic), "pAsymptotic": float(r.pvalue),
                    "hlEstimate": float(np.median((np.asarray(y)[:, None] - np.asarray(x)[None, :]).ravel()))})
    return out


def special_fixtures():
    """Distribution functions on a grid that reaches the far tails (normal down to 1e-300, Student t with
    fractional and very large df, binomial with a million trials as in the percentile intervals of a large
    sample): the grid decides which implementation of each function is kept."""
    zs = sorted({-8.5, -5, -3.2, -1.96, -0.5, 0, 0.3, 1.2, 2.5, 4, 7.5, 12} | {float(v) for v in np.arange(-37.5, 37.6, 0.25)})
    ps = [1e-12, 1e-6, 0.001, 0.025, 0.05, 0.3, 0.5, 0.7, 0.95, 0.975, 0.999, 1 - 1e-9]
    tails = [float(v) for v in np.logspace(-300, -1, 31)]
    normal_ps = sorted(set(ps) | set(tails) | {1 - v for v in tails if v < 0.5 and 1 - v < 1})
    dfs = [0.7, 1, 2.5, 4, 9, 17.3, 30, 120, 1000, 1e5]
    ts = sorted({-6, -2.1, -0.4, 0.0, 0.7, 1.9, 3.3, 9} | {float(s * v) for s in (-1, 1) for v in np.logspace(-3, 3, 13)})
    t_ps = sorted(set(ps) | {float(v) for v in np.logspace(-12, -1, 12)} | {float(1 - v) for v in np.logspace(-12, -1, 12)})
    binom = []
    for n, p in [(10, 0.5), (368, 0.99), (1000, 0.9), (100000, 0.999), (7, 0.25), (5000, 0.5), (200000, 0.75), (1000000, 0.5), (1000000, 0.99), (1000000, 0.999)]:
        sd = np.sqrt(n * p * (1 - p))
        bulk = np.linspace(n * p - 6 * sd - 2, n * p + 6 * sd + 2, 25)
        ks = sorted({int(v) for v in np.linspace(0, n, 9)} | {int(n * p)} | {int(v) for v in bulk if 0 <= v <= n})
        binom.append({"n": n, "p": p, "k": ks, "cdf": fl(stats.binom.cdf(ks, n, p))})
    return {
        "normal": {"z": zs, "sf": fl(stats.norm.sf(zs)), "cdf": fl(stats.norm.cdf(zs)), "p": normal_ps, "ppf": fl(stats.norm.ppf(normal_ps))},
        "t": [{"df": df, "t": ts, "sf": fl(stats.t.sf(ts, df)), "p": t_ps, "ppf": fl(stats.t.ppf(t_ps, df))} for df in dfs],
        "binomial": binom,
    }


def bh_fixtures():
    out = []
    for ps in ([0.01, 0.04, 0.03, 0.005, 0.2], [0.5], [0.001, 0.001, 0.9, 0.049, 0.051, 0.3, 0.02], fl(rng.uniform(size=12))):
        out.append({"p": ps, "adjusted": fl(stats.false_discovery_control(ps, method="bh"))})
    return out


def bca_fixtures():
    """BCa intervals from scipy.stats.bootstrap (many resamples, so Monte Carlo error is small): the test
    allows a few percent of the interval width, since the resampling streams differ."""
    out = []
    for m, n, stat in [(25, 30, "meanDiff"), (40, 35, "logMedianRatio")]:
        x = rng.lognormal(np.log(60.0), 0.3, size=m)
        y = rng.lognormal(np.log(66.0), 0.3, size=n)
        if stat == "meanDiff":
            f = lambda a, b, axis=-1: np.mean(b, axis=axis) - np.mean(a, axis=axis)
        else:
            f = lambda a, b, axis=-1: np.log(np.median(b, axis=axis)) - np.log(np.median(a, axis=axis))
        r = stats.bootstrap((x, y), f, n_resamples=40000, method="BCa", confidence_level=0.9, random_state=np.random.default_rng(5))
        out.append({"statistic": stat, "x": fl(x), "y": fl(y), "low": float(r.confidence_interval.low), "high": float(r.confidence_interval.high), "estimate": float(f(x, y))})
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    data = samples()
    fixtures = {
        "generator": {"script": "scripts/make-stats-fixtures.py", "numpy": np.__version__, "scipy": scipy.__version__},
        "samples": data,
        "quantiles": quantile_fixtures(data),
        "descriptive": descriptive_fixtures(data),
        "twoSample": two_sample_fixtures(),
        "special": special_fixtures(),
        "bh": bh_fixtures(),
        "bca": bca_fixtures(),
    }
    with open(os.path.join(OUT, "scipy-reference.json"), "w") as f:
        json.dump(fixtures, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {os.path.join(OUT, 'scipy-reference.json')}")


if __name__ == "__main__":
    main()
