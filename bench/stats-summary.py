#!/usr/bin/env python3
"""numpy side of bench/stats-summary.ts: reads float64 samples (little-endian) from a file, then answers
commands on stdin, one per line, so the TypeScript side can interleave rounds with its own:
  check -> JSON with numpy's percentiles (linear = type 7), mean and sd (ddof=1) for the equality check
  time  -> milliseconds for np.sort + np.percentile(sorted, [50, 75, 90, 99, 99.9]) + mean + std(ddof=1)
  info  -> JSON with versions
"""
import json
import sys
import time

import numpy as np

x = np.fromfile(sys.argv[1], dtype="<f8")
PCTS = [50, 75, 90, 99, 99.9]


def work():
    s = np.sort(x)
    p = np.percentile(s, PCTS)
    return s, p, s.mean(), s.std(ddof=1)


for line in sys.stdin:
    cmd = line.strip()
    if cmd == "check":
        _, p, m, sd = work()
        print(json.dumps({"percentiles": [float(v) for v in p], "mean": float(m), "sd": float(sd), "n": int(x.size)}), flush=True)
    elif cmd == "time":
        t = time.perf_counter()
        work()
        print(json.dumps({"ms": (time.perf_counter() - t) * 1e3}), flush=True)
    elif cmd == "info":
        print(json.dumps({"numpy": np.__version__, "python": sys.version.split()[0]}), flush=True)
    elif cmd == "quit":
        break
