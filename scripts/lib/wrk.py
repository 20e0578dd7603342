#!/usr/bin/env python3
"""Turns wrk output into JSON lines, for scripts/bench.sh http-vs-nginx.

  wrk.py run SERVER PAIR < wrk-output     one line: requests/s, p99 and errors of one run
  wrk.py summary KEY=VALUE... < run-lines the medians per server and their ratio,
                                          KEY=VALUE pairs added as they are (numbers as
                                          numbers, true/false as booleans)

`run` needs wrk's --latency output (the "99%" line of the latency distribution).
"""
import json
import re
import statistics
import sys

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def milliseconds(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def run(server, pair, output):
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"^\s+(\d+) requests in ", output, re.M)
    if not rps or not p99 or not total:
        raise SystemExit(f"wrk.py: unreadable wrk output for {server}:\n{output}")
    non_2xx = re.search(r"^\s+Non-2xx or 3xx responses:\s+(\d+)", output, re.M)
    errors = re.search(
        r"^\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output, re.M)
    line = {
        "server": server,
        "pair": pair,
        "requests_per_second": round(float(rps.group(1)), 1),
        "p99_ms": round(milliseconds(p99.group(1)), 3),
        "requests": int(total.group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }
    return line


def number(text):
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def summary(lines, extra):
    runs = [json.loads(line) for line in lines if line.strip()]
    by_server = {}
    for r in runs:
        by_server.setdefault(r["server"], []).append(r)

    def median(server, key):
        values = [r[key] for r in by_server.get(server, [])]
        return round(statistics.median(values), 3) if values else None

    nginx_rps = median("nginx", "requests_per_second")
    spotgridd_rps = median("spotgridd", "requests_per_second")
    out = {
        "bench": "http-vs-nginx",
        "nginx_rps_median": nginx_rps,
        "spotgridd_rps_median": spotgridd_rps,
        # spotgridd's share of nginx's throughput (1.0: as fast as nginx).
        "ratio": round(spotgridd_rps / nginx_rps, 3) if nginx_rps and spotgridd_rps else None,
        "nginx_p99_ms_median": median("nginx", "p99_ms"),
        "spotgridd_p99_ms_median": median("spotgridd", "p99_ms"),
    }
    for item in extra:
        key, _, value = item.partition("=")
        out[key] = number(value)
    # Over all runs: anything but 0 means a run measured errors, not answers.
    out["non_2xx"] = sum(r["non_2xx"] for r in runs)
    out["socket_errors"] = sum(r["socket_errors"] for r in runs)
    return out


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "run":
        line = run(sys.argv[2], int(sys.argv[3]), sys.stdin.read())
    elif len(sys.argv) >= 2 and sys.argv[1] == "summary":
        line = summary(sys.stdin.read().splitlines(), sys.argv[2:])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(line, separators=(",", ":")))


if __name__ == "__main__":
    main()
