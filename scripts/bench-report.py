#!/usr/bin/env python3
"""Helpers of scripts/bench.

  bench-report.py time FILE WARMUP RUNS OUT.json NAME CMD [NAME CMD ...]
      fallback timing loop when hyperfine is missing: runs each CMD (split
      on white space, no shell) with FILE on stdin, writes hyperfine-like JSON
  bench-report.py rss FILE CMD [ARG ...]
      fallback peak RSS: runs CMD once with FILE on stdin and prints
      "KILOBYTES EXITCODE" (ru_maxrss of the children of this fresh process)
  bench-report.py report OUTDIR [QMVC_PROBLEM] [QMVC_FAILED_MESSAGES]
      prints the table and the PASS/MISS lines from OUTDIR/{small,medium,
      large}.json, rss.tsv and sizes.tsv
"""

import json
import os
import statistics
import subprocess
import sys
import time

MESSAGES = ["small", "medium", "large"]
LABEL = {"small": "4 KB", "medium": "60 KB", "large": "10 MB"}
TOOLS = ["cat", "procmail", "maildrop", "qmvc"]
MiB = 1024 * 1024


def qenv():
    """The clean environment scripts/bench gives every tool (NUL-separated
    NAME=VALUE in the file $BENCH_QENV), or None for this one."""
    path = os.environ.get("BENCH_QENV")
    if not path:
        return None
    with open(path, "rb") as f:
        items = [x for x in f.read().split(b"\0") if x]
    return dict(x.split(b"=", 1) for x in items)


def cmd_time(argv):
    path, warmup, runs, out = argv[0], int(argv[1]), int(argv[2]), argv[3]
    pairs = argv[4:]
    env = qenv()
    results = []
    for name, cmd in zip(pairs[0::2], pairs[1::2]):
        words = cmd.split()
        times, codes = [], []
        for i in range(warmup + runs):
            with open(path, "rb") as f:
                t0 = time.perf_counter()
                rc = subprocess.call(
                    words,
                    stdin=f,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
                t1 = time.perf_counter()
            if i >= warmup:
                times.append(t1 - t0)
                codes.append(rc)
        med = statistics.median(times)
        print("  %-9s median %8.3f ms  (%d runs)" % (name, med * 1e3, runs))
        results.append(
            {
                "command": name,
                "mean": statistics.mean(times),
                "stddev": statistics.stdev(times) if len(times) > 1 else 0.0,
                "median": med,
                "min": min(times),
                "max": max(times),
                "times": times,
                "exit_codes": codes,
            }
        )
    with open(out, "w") as f:
        json.dump({"results": results}, f)


def cmd_rss(argv):
    import resource

    path, words = argv[0], argv[1:]
    with open(path, "rb") as f:
        rc = subprocess.call(
            words,
            stdin=f,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=qenv(),
        )
    kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB on Linux
    print(kb, rc)


def fmt_ms(s):
    return "%.3f" % (s * 1e3) if s is not None else "-"


def fmt_mib(kb):
    return "%.1f" % (kb / 1024.0) if kb is not None else "-"


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"


def cmd_report(argv):
    outdir = argv[0]
    problem = argv[1] if len(argv) > 1 else ""
    failed = (argv[2] if len(argv) > 2 else "").split()

    sizes = {}
    with open(os.path.join(outdir, "sizes.tsv")) as f:
        for line in f:
            m, n = line.split()
            sizes[m] = int(n)
    rss, rss_rc = {}, {}
    with open(os.path.join(outdir, "rss.tsv")) as f:
        for line in f:
            m, tool, kb, rc = line.rstrip("\n").split("\t")
            rss[(m, tool)] = int(kb) if kb.strip().isdigit() else None
            rss_rc[(m, tool)] = rc
    med = {}
    for m in MESSAGES:
        with open(os.path.join(outdir, m + ".json")) as f:
            data = json.load(f)
        for r in data["results"]:
            t = r.get("times") or []
            med[(m, r["command"])] = statistics.median(t) if t else r.get("median")

    def qmvc_ok(m):
        return not problem and m not in failed and (m, "qmvc") in med

    print("Median wall time per delivery (ms) and peak RSS (MiB)")
    head = "%-14s" % "message"
    for t in TOOLS:
        head += " %10s" % t
    head += "   qmvc/md  qmvc/pm   cat/md"
    print(head)
    print("-" * len(head))
    for m in MESSAGES:
        row = "%-14s" % ("%s %s" % (m, LABEL[m]))
        for t in TOOLS:
            v = med.get((m, t))
            if t == "qmvc" and v is not None and not qmvc_ok(m):
                row += " %10s" % "invalid"
            else:
                row += " %10s" % fmt_ms(v)
        q = med.get((m, "qmvc")) if qmvc_ok(m) else None
        row += "   %7s  %7s  %7s" % (
            ratio(q, med.get((m, "maildrop"))),
            ratio(q, med.get((m, "procmail"))),
            ratio(med.get((m, "cat")), med.get((m, "maildrop"))),
        )
        print(row)
        row = "%-14s" % "  peak RSS"
        for t in TOOLS:
            if t == "qmvc" and (m, t) in rss and not qmvc_ok(m):
                row += " %10s" % "invalid"
            else:
                row += " %10s" % fmt_mib(rss.get((m, t)))
        print(row)
    print()

    def target(what, ok):
        if ok is None and "RSS" in what and not rss_valid:
            print("  n/a   %s (python3 getrusage over-reports)" % what)
        elif ok is None:
            print("  n/a   %s (qmvc not measured)" % what)
        else:
            print("  %-5s %s" % ("PASS" if ok else "MISS", what))

    print("Targets")
    for m, factor in (("small", 0.8), ("medium", 0.5), ("large", 0.5)):
        q, md = med.get((m, "qmvc")), med.get((m, "maildrop"))
        ok = None if not qmvc_ok(m) or q is None or not md else q <= factor * md
        detail = ""
        if ok is not None:
            detail = ": %s ms vs %s ms = %.2f x" % (fmt_ms(q), fmt_ms(md), q / md)
        target("qmvc time <= %.1f x maildrop on %s%s" % (factor, LABEL[m], detail), ok)
    rss_valid = os.environ.get("BENCH_RSS_HOW") != "python"
    kb = rss.get(("medium", "qmvc")) if rss_valid else None
    ok = None if not qmvc_ok("medium") or kb is None else kb * 1024 < 5 * MiB
    target(
        "qmvc peak RSS < 5 MiB on 60 KB%s"
        % (": %s MiB" % fmt_mib(kb) if ok is not None else ""),
        ok,
    )
    kb = rss.get(("large", "qmvc")) if rss_valid else None
    limit = 1.5 * sizes["large"] + 6 * MiB
    ok = None if not qmvc_ok("large") or kb is None else kb * 1024 < limit
    target(
        "qmvc peak RSS < 1.5 x message + 6 MiB = %.1f MiB on 10 MB%s"
        % (limit / MiB, ": %s MiB" % fmt_mib(kb) if ok is not None else ""),
        ok,
    )
    if problem:
        print("\nqmvc NOT MEASURED: %s" % problem)
    if failed:
        print(
            "\nqmvc did not exit 0 on clean message(s) or (--same-rules) 99 on"
            " bad ones: %s" % " ".join(failed)
        )
    print()
    for m in MESSAGES:
        with open(os.path.join(outdir, m + ".json")) as f:
            for r in json.load(f)["results"]:
                codes = [c for c in (r.get("exit_codes") or []) if c != 0]
                if codes:
                    print(
                        "%s on %s: %d of %d timed runs exited non-zero (e.g. %s)"
                        % (r["command"], m, len(codes), len(r["exit_codes"]), codes[0])
                    )
    bad = [(k, v) for k, v in rss_rc.items() if v != "0"]
    if bad:
        print(
            "non-zero exit during the RSS runs: %s"
            % ", ".join("%s on %s: %s" % (k[1], k[0], v) for k, v in bad)
        )


def main():
    sub, argv = sys.argv[1], sys.argv[2:]
    {"time": cmd_time, "rss": cmd_rss, "report": cmd_report}[sub](argv)


if __name__ == "__main__":
    main()
