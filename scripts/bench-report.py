#!/usr/bin/env python3
"""Helpers of scripts/bench.

  bench-report.py rss FILE CMD [ARG ...]
      fallback peak RSS: runs CMD once with FILE on stdin and prints
      "KILOBYTES EXITCODE" (ru_maxrss of the children of this fresh process)
  bench-report.py report OUTDIR [QMVC_PROBLEM] [QMVC_FAILED_MESSAGES]
      prints the table and the PASS/MISS lines from OUTDIR/loops-MESSAGE.tsv
      (scripts/bench-loop.c: NAME ROUND SECONDS EXITCODES per loop),
      loop-sizes.tsv, rss.tsv and sizes.tsv
"""

import os
import statistics
import subprocess
import sys

MESSAGES = ["small", "medium", "large"]
LABEL = {"small": "4 KB", "medium": "60 KB", "large": "10 MB"}
TOOLS = ["floor", "maildrop", "procmail", "qmvc"]
MiB = 1024 * 1024

# (message, other candidate, most qmvc may take as a multiple of it)
TIME_TARGETS = [
    ("small", "maildrop", 0.42),
    ("small", "floor", 2.0),
    ("medium", "maildrop", 0.30),
    ("large", "maildrop", 0.5),
]


def qenv():
    """The clean environment scripts/bench gives every tool (NUL-separated
    NAME=VALUE in the file $BENCH_QENV), or None for this one."""
    path = os.environ.get("BENCH_QENV")
    if not path:
        return None
    with open(path, "rb") as f:
        items = [x for x in f.read().split(b"\0") if x]
    return dict(x.split(b"=", 1) for x in items)


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


def fmt_ratio(r):
    return "%.2f" % r if r is not None else "-"


def read_loops(outdir):
    """{(message, tool): {round: seconds}}, {(message, tool): codes},
    {message: deliveries per loop}, {(message, tool): {round: CPU seconds}}
    (user + system time of the loop's processes)."""
    loops, codes, per, cpu = {}, {}, {}, {}
    with open(os.path.join(outdir, "loop-sizes.tsv")) as f:
        for line in f:
            m, n = line.split()
            per[m] = int(n)
    for m in MESSAGES:
        path = os.path.join(outdir, "loops-%s.tsv" % m)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                tool, rnd, secs, seen, used = line.rstrip("\n").split("\t")
                loops.setdefault((m, tool), {})[int(rnd)] = float(secs)
                cpu.setdefault((m, tool), {})[int(rnd)] = float(used)
                codes.setdefault((m, tool), set()).update(seen.split(","))
    return loops, codes, per, cpu


def round_ratio(loops, m, a, b):
    """Median over the rounds of a's loop time / b's in the same round."""
    ta, tb = loops.get((m, a)), loops.get((m, b))
    if not ta or not tb:
        return None
    return statistics.median(ta[r] / tb[r] for r in ta if r in tb and tb[r])


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
    loops, codes, per, cpu = read_loops(outdir)
    global TOOLS
    if any(tool == "base" for _, tool in loops):
        TOOLS = TOOLS + ["base"]

    def qmvc_ok(m):
        return not problem and m not in failed and (m, "qmvc") in loops

    def per_delivery(m, tool):
        t = loops.get((m, tool))
        return statistics.median(t.values()) / per[m] if t else None

    print("Median wall time per delivery (ms, from loops of N deliveries,")
    print("the candidates alternating) and peak RSS (MiB)")
    head = "%-16s %4s" % ("message", "N")
    for t in TOOLS:
        head += " %9s" % t
    head += "  qmvc/md  qmvc/floor  floor/md"
    print(head)
    print("-" * len(head))
    for m in MESSAGES:
        if m not in per:
            continue
        row = "%-16s %4d" % ("%s %s" % (m, LABEL[m]), per[m])
        for t in TOOLS:
            v = per_delivery(m, t)
            if t == "qmvc" and v is not None and not qmvc_ok(m):
                row += " %9s" % "invalid"
            else:
                row += " %9s" % fmt_ms(v)
        ok = qmvc_ok(m)
        row += "  %7s  %10s  %8s" % (
            fmt_ratio(round_ratio(loops, m, "qmvc", "maildrop") if ok else None),
            fmt_ratio(round_ratio(loops, m, "qmvc", "floor") if ok else None),
            fmt_ratio(round_ratio(loops, m, "floor", "maildrop")),
        )
        print(row)
        row = "%-16s %4s" % ("  peak RSS", "")
        for t in TOOLS:
            if t == "qmvc" and (m, t) in rss and not qmvc_ok(m):
                row += " %9s" % "invalid"
            else:
                row += " %9s" % fmt_mib(rss.get((m, t)))
        print(row)
    print()
    print("CPU time (user + system) per delivery (ms): less disturbed than the")
    print("wall time when the machine is busy")
    head = "%-16s %4s" % ("message", "N")
    for t in TOOLS:
        head += " %9s" % t
    head += "  qmvc/md  qmvc/floor  floor/md"
    print(head)
    print("-" * len(head))
    for m in MESSAGES:
        if m not in per:
            continue
        row = "%-16s %4d" % ("%s %s" % (m, LABEL[m]), per[m])
        for t in TOOLS:
            c = cpu.get((m, t))
            v = statistics.median(c.values()) / per[m] if c else None
            row += " %9s" % fmt_ms(v)
        ok = qmvc_ok(m)
        row += "  %7s  %10s  %8s" % (
            fmt_ratio(round_ratio(cpu, m, "qmvc", "maildrop") if ok else None),
            fmt_ratio(round_ratio(cpu, m, "qmvc", "floor") if ok else None),
            fmt_ratio(round_ratio(cpu, m, "floor", "maildrop")),
        )
        print(row)
    print()

    rss_valid = os.environ.get("BENCH_RSS_HOW") != "python"

    def target(what, ok):
        if ok is None and "RSS" in what and not rss_valid:
            print("  n/a   %s (python3 getrusage over-reports)" % what)
        elif ok is None:
            print("  n/a   %s (qmvc not measured)" % what)
        else:
            print("  %-5s %s" % ("PASS" if ok else "MISS", what))

    print("Targets (ratios: median over the rounds of the ratio in a round)")
    for m, other, factor in TIME_TARGETS:
        r = round_ratio(loops, m, "qmvc", other) if qmvc_ok(m) else None
        ok = None if r is None else r <= factor
        detail = "" if r is None else ": %.2f x" % r
        target(
            "qmvc time <= %.2f x %s on %s%s" % (factor, other, LABEL[m], detail),
            ok,
        )
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
    if "base" in TOOLS:
        base_report(loops, cpu, qmvc_ok)
    if problem:
        print("\nqmvc NOT MEASURED: %s" % problem)
    if failed:
        print(
            "\nqmvc did not exit 0 on clean message(s) or 99 on bad ones: %s"
            % " ".join(failed)
        )
    print()
    for (m, tool), seen in sorted(codes.items()):
        other = sorted(c for c in seen if c != "0")
        if other:
            print("%s on %s: timed runs exited %s" % (tool, m, ",".join(other)))
    bad = [(k, v) for k, v in rss_rc.items() if v != "0"]
    if bad:
        print(
            "non-zero exit during the RSS runs: %s"
            % ", ".join("%s on %s: %s" % (k[1], k[0], v) for k, v in bad)
        )


def base_report(loops, cpu, qmvc_ok):
    """qmvc against the base binary of the same run (QMVC_BASE): whether a
    change made qmvc slower, told apart from a change of the machine."""
    print()
    print("qmvc against the base (QMVC_BASE), same rounds: median of the")
    print("ratio in a round; more than 1.05 x counts as worse")
    for m in MESSAGES:
        ok = qmvc_ok(m)
        c = round_ratio(cpu, m, "qmvc", "base") if ok else None
        w = round_ratio(loops, m, "qmvc", "base") if ok else None
        if c is None:
            print("  n/a   qmvc CPU <= 1.05 x base on %s" % LABEL[m])
            continue
        print(
            "  %-5s qmvc CPU <= 1.05 x base on %s: %.2f x (wall %s x)"
            % ("PASS" if c <= 1.05 else "MISS", LABEL[m], c, fmt_ratio(w))
        )


def main():
    sub, argv = sys.argv[1], sys.argv[2:]
    {"rss": cmd_rss, "report": cmd_report}[sub](argv)


if __name__ == "__main__":
    main()
