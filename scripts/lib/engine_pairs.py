#!/usr/bin/env python3
"""Runs two spotgrid-bench-engine binaries alternately, PAIRS times each, the base
first in odd pairs and second in even ones (the shared machine drifts), and prints
one JSON line per stream and binary with the medians of its runs, then one per
stream with the new binary's figures over the base's.

usage: engine_pairs.py PAIRS BASE_BINARY NEW_BINARY [spotgrid-bench-engine ARGS...]
"""
import json
import statistics
import subprocess
import sys

FIGURES = ("ops_per_s", "cycles_per_op", "p50_ns", "p99_ns", "p999_ns", "copy_ms", "serialize_ms", "restore_ms")


def run(binary, args):
    out = subprocess.run([binary, *args], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    pairs, base, new, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    runs = {base: {}, new: {}}
    for pair in range(pairs):
        for binary in (base, new) if pair % 2 == 0 else (new, base):
            for line in run(binary, args):
                figures = runs[binary].setdefault(line.get("stream", "?"), {})
                for name in FIGURES:
                    if name in line:
                        figures.setdefault(name, []).append(line[name])
    medians = {}
    for label, binary in (("base", base), ("new", new)):
        for stream, figures in runs[binary].items():
            medians[(label, stream)] = {n: statistics.median(v) for n, v in figures.items()}
            print(json.dumps({"binary": label, "stream": stream, "pairs": pairs,
                              **medians[(label, stream)]}))
    for stream in runs[new]:
        was, now = medians.get(("base", stream)), medians[("new", stream)]
        if was:
            print(json.dumps({"stream": stream, "new_over_base": {
                n: round(now[n] / was[n], 3) for n in now if was.get(n)}}))


if __name__ == "__main__":
    main()
