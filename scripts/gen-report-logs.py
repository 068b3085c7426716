#!/usr/bin/env python3
"""Writes a realistic qmvc.log and qmvc.rep (qmvc-log(5)) for the aux
programs' benchmark (scripts/bench-reports).

  gen-report-logs.py [--lines N] [--reports M] [--day YYYY-MM-DD]
                     [--seed S] LAYER

writes LAYER/log/qmvc.log with N lines spread evenly over one day (today
by default, in the local zone, so `-c` reports it) and LAYER/log/qmvc.rep
with M documents over the same day. Deterministic for a seed and a day.

qmvc.log: 11 tab-separated fields, every field folded (no white space,
`-` when empty). About 80% clear, 8% badmail, 6% virusmail, 4% errormail,
1% errormail with a badmail condition, 1% deferred. Senders: 50,000
distinct addresses drawn with a Zipf-like skew (a few bulk senders, a
long tail); recipients: 5,000 local addresses, also skewed; subjects and
message ids mostly distinct.

qmvc.rep: YAML documents as qmvc writes them (serde_yaml: plain scalars,
single quotes where needed): about 55% virusmail (one of 400 virus names,
skewed, found by `clamd (C)` or `sophie (S)`), the rest badfilename,
badmimetype, badloadertype, badsubject, badbodytext, some with a
reaction, some with an errormail condition before them.
"""

import argparse
import bisect
import datetime
import itertools
import os
import random
import re
import sys

SENDERS = 50_000
RECIPIENTS = 5_000
VIRUSES = 400
FILE_NAMES = 3_000

WORDS = (
    "invoice order payment report meeting project update account offer "
    "delivery notice reminder statement contract review agenda budget "
    "ticket request summary quarterly weekly monthly urgent final draft "
    "news sale discount shipping confirmation password security alert "
    "team lunch holiday schedule release build server backup"
).split()
TLDS = ["com", "net", "org", "de", "example", "info", "co.uk", "io"]
VIRUS_FAMILIES = [
    "Win.Trojan.Agent", "Win.Malware.Emotet", "Doc.Downloader.Emotet",
    "Xls.Dropper.Agent", "Html.Phishing.Bank", "Js.Downloader.Nemucod",
    "Win.Worm.Mydoom", "Pdf.Exploit.CVE_2018_4993", "Win.Ransomware.Locky",
    "Email.Phishing.VOF", "Vbs.Downloader.Agent", "Win.Test.EICAR_HDB",
]
EXTENSIONS = ["exe", "scr", "pif", "js", "vbs", "bat", "com", "zip", "docm",
              "xlsm", "iso", "html", "lnk", "hta"]
TYPES = [
    ("application/x-dosexec", "PE32"),
    ("application/x-msdownload", "PE32+"),
    ("application/zip", None),
    ("application/vnd.ms-excel.sheet.macroEnabled.12", None),
    ("text/html", None),
    ("application/x-iso9660-image", None),
]

# What serde_yaml leaves plain: no indicator first, no ": " or " #", no
# surrounding space, nothing a YAML 1.2 reader would take for another type.
INDICATOR = set("-?:,[]{}#&*!|>'\"%@`")
RESERVED = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|"
    r"0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.inf|\.nan|"
    r"true|false|yes|no|on|off|null|y|n|~)$",
    re.IGNORECASE,
)


def zipf_cum(n, s):
    """Cumulative weights 1/k^s for k = 1..n (random.choices)."""
    return list(itertools.accumulate(1.0 / (k ** s) for k in range(1, n + 1)))


def pick(rng, items, cum):
    """One item by cumulative weights (faster than random.choices(k=1))."""
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


def yq(value):
    """A YAML scalar as serde_yaml writes it: plain when unambiguous,
    else single-quoted."""
    plain = (
        value
        and value[0] not in INDICATOR
        and value == value.strip()
        and ": " not in value
        and " #" not in value
        and not value.endswith(":")
        and all(c.isprintable() for c in value)
        and not RESERVED.match(value)
    )
    if plain:
        return value
    return "'" + value.replace("'", "''") + "'"


def fold(value):
    """A qmvc.log field: white space and controls to `_`, `-` if empty."""
    out = "".join("_" if (c.isspace() or ord(c) < 32) else c for c in value)
    return out or "-"


class World:
    """The population the messages are drawn from."""

    def __init__(self, rng):
        self.rng = rng
        self.senders = []
        for i in range(SENDERS):
            user = rng.choice(WORDS) + str(i)
            host = "mx%d.%s.%s" % (i % 97, rng.choice(WORDS), rng.choice(TLDS))
            self.senders.append("%s@%s" % (user, host))
        # Bulk senders and bounces (empty sender) at the head.
        self.senders[0] = "newsletter@lists.example.com"
        self.senders[1] = "-"
        self.senders[2] = "noreply@shop.example.net"
        self.sender_cum = zipf_cum(SENDERS, 1.1)
        self.recipients = [
            "%s%d@example.org" % (rng.choice(WORDS), i)
            for i in range(RECIPIENTS)
        ]
        self.recipient_cum = zipf_cum(RECIPIENTS, 0.9)
        self.viruses = [
            "%s-%d" % (VIRUS_FAMILIES[i % len(VIRUS_FAMILIES)], 6000000 + i)
            for i in range(VIRUSES)
        ]
        self.virus_cum = zipf_cum(VIRUSES, 1.3)
        self.files = [
            "%s_%d.%s" % (rng.choice(WORDS), i, rng.choice(EXTENSIONS))
            for i in range(FILE_NAMES)
        ]
        self.file_cum = zipf_cum(FILE_NAMES, 1.0)

    def sender(self):
        return pick(self.rng, self.senders, self.sender_cum)

    def recipient(self):
        return pick(self.rng, self.recipients, self.recipient_cum)

    def virus(self):
        return pick(self.rng, self.viruses, self.virus_cum)

    def file(self):
        return pick(self.rng, self.files, self.file_cum)

    def subject(self, n):
        rng = self.rng
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7)))
        return "%s %d" % (words.capitalize(), n)


def day_times(day, count):
    """`count` ISO 8601 times spread evenly over `day`, local zone."""
    start = datetime.datetime(day.year, day.month, day.day).astimezone()
    zone = start.strftime("%z")
    zone = zone[:3] + ":" + zone[3:]
    date = day.isoformat()
    step = 86400.0 / max(count, 1)
    for i in range(count):
        sec = int(i * step)
        yield "%sT%02d:%02d:%02d%s" % (
            date, sec // 3600, sec // 60 % 60, sec % 60, zone)


BADMAIL = ["badfilename", "badmimetype", "badloadertype", "badsubject",
           "badbodytext"]


def log_line(world, n, time):
    """One qmvc.log line."""
    rng = world.rng
    r = rng.random()
    scanners = "C" if rng.random() < 0.9 else "CS"
    errormail = 0
    if r < 0.80:
        result, action = "clear", "pass"
    elif r < 0.88:
        result = rng.choice(BADMAIL)
        action = rng.choice(["block", "block", "trash", "keep", "inspect"])
    elif r < 0.94:
        result, action = "virusmail", "block"
    elif r < 0.98:
        result, action = "errormail", rng.choice(["bounce", "block"])
        errormail = rng.choice([1, 2, 4, 8, 16, 64, 512])
        scanners = "-"
    elif r < 0.99:
        result = "errormail+" + rng.choice(BADMAIL)
        action = "bounce+block"
        errormail = rng.choice([2, 4, 32])
    else:
        result = rng.choice(["-", "virusmail"])
        action = "defer"
    size = int(rng.lognormvariate(9.0, 1.3)) + 300
    seconds = "%.3f" % (0.002 + rng.expovariate(1 / 0.03))
    sender = world.sender()
    msgid = "<%d.%x@%s>" % (n, rng.getrandbits(32), sender.split("@")[-1])
    fields = [time, result, str(errormail), action, scanners, seconds,
              str(size), sender, world.recipient(), msgid,
              world.subject(n)]
    return "\t".join(fold(f) for f in fields) + "\n"


def rep_document(world, n, time):
    """One qmvc.rep document."""
    rng = world.rng
    sender = world.sender()
    if sender == "-":
        sender = ""
    conditions = []
    if rng.random() < 0.05:
        conditions.append(("errormail", "bounce", 1, [
            {"pattern": "date=required",
             "origin": "/var/qmvc/control/mailheaders:4",
             "detail": "bit 4: no Date field"}], []))
    if rng.random() < 0.55:
        scanner = "clamd (C)" if rng.random() < 0.85 else "sophie (S)"
        matches = [{"part": "%d" % rng.randint(2, 4),
                    "filename": world.file(),
                    "scanner": scanner,
                    "virus": world.virus()}]
        reactions = []
        if rng.random() < 0.3:
            reactions = [{"reaction": "informguard",
                          "address": "postmaster@example.org",
                          "status": "sent to postmaster@example.org"}]
        conditions.append(("virusmail", "block", 7, matches, reactions))
        scanners = scanner[-2]
    else:
        kind = rng.choice(BADMAIL)
        name = world.file()
        detected, loader = rng.choice(TYPES)
        match = {"part": "%d" % rng.randint(2, 5)}
        if kind == "badfilename":
            match.update(pattern="*." + name.rsplit(".", 1)[-1],
                         origin="/var/qmvc/control/badfilenames:3",
                         filename=name)
        elif kind == "badmimetype":
            match.update(pattern=detected,
                         origin="/var/qmvc/control/badmimetypes:2",
                         filename=name, detected_type=detected)
        elif kind == "badloadertype":
            match.update(pattern=loader or "PE32",
                         origin="/var/qmvc/control/badloadertypes:1",
                         filename=name, detected_type=detected,
                         loader_type=loader or "PE32")
        elif kind == "badsubject":
            match = {"pattern": "*" + rng.choice(WORDS) + "*",
                     "origin": "/var/qmvc/control/badsubjects:9"}
        else:
            match.update(pattern="click here to " + rng.choice(WORDS),
                         origin="/var/qmvc/control/badbodytexts:5")
        conditions.append((kind, "block", 3, [match], []))
        scanners = "C"
    result = "+".join(c[0] for c in conditions)
    action = "+".join(c[1] for c in conditions)
    errormail = 4 if conditions[0][0] == "errormail" else 0
    out = ["---",
           "time: " + yq(time),
           "result: " + yq(result),
           "errormail: %d" % errormail,
           "action: " + yq(action),
           "scanners: " + yq(scanners),
           "seconds: %.3f" % (0.003 + rng.expovariate(1 / 0.05)),
           "size: %d" % (int(rng.lognormvariate(10.0, 1.0)) + 500),
           "sender: " + yq(sender),
           "recipient: " + yq(world.recipient()),
           "message_id: " + yq("<%d.%x@mail.example.net>"
                               % (n, rng.getrandbits(40))),
           "subject: " + yq(world.subject(n)),
           "conditions:"]
    for name, act, line, matches, reactions in conditions:
        out.append("- condition: " + name)
        out.append("  action: " + act)
        out.append("  rule: /var/qmvc/control/filters:%d" % line)
        if reactions:
            out.append("  reactions:")
            for r in reactions:
                first = True
                for key, value in r.items():
                    out.append(("  - " if first else "    ")
                               + "%s: %s" % (key, yq(value)))
                    first = False
        out.append("  matches:")
        for m in matches:
            first = True
            for key, value in m.items():
                out.append(("  - " if first else "    ")
                           + "%s: %s" % (key, yq(value)))
                first = False
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("layer")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument("--day", default=None,
                    help="YYYY-MM-DD (default: today, local time)")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    day = (datetime.date.fromisoformat(args.day) if args.day
           else datetime.date.today())
    rng = random.Random(args.seed)
    world = World(rng)
    logdir = os.path.join(args.layer, "log")
    os.makedirs(logdir, exist_ok=True)
    with open(os.path.join(logdir, "qmvc.log"), "w", encoding="utf-8",
              buffering=1 << 20) as log:
        batch = []
        for n, time in enumerate(day_times(day, args.lines)):
            batch.append(log_line(world, n, time))
            if len(batch) == 10_000:
                log.write("".join(batch))
                batch = []
        log.write("".join(batch))
    with open(os.path.join(logdir, "qmvc.rep"), "w", encoding="utf-8",
              buffering=1 << 20) as rep:
        for n, time in enumerate(day_times(day, args.reports)):
            rep.write(rep_document(world, n, time))
    return 0


if __name__ == "__main__":
    sys.exit(main())
