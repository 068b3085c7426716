#!/usr/bin/env python3
"""Write the deterministic test messages of scripts/bench into DIR.

    bench-messages.py DIR

Clean messages (the benchmark input, none of them may be caught):
  small.eml   ~4 KB plain text message
  medium.eml  ~60 KB multipart/mixed, text part + a real minimal PDF (report.pdf)
  large.eml   ~10 MB multipart/mixed, text part + 7.5 MB of base64 data (data.bin)

Bad messages (every filter must catch each of them):
  bad-subject.eml        Subject contains "make money fast" (mixed case)
  bad-body.eml           body contains "kill the boss" (mixed case)
  bad-filename.eml       attachment invoice.exe (Content-Type name=, one line)
  bad-filename-folded.eml attachment screensaver.scr, filename= on a folded line

Everything is derived from fixed text and random.seed(), no network, no
external files: the same bytes on every run and every machine.
"""

import base64
import os
import random
import sys

SEED = 20250101
SENDER = "alice@example.org"
RCPT = "bob@example.com"

PARAGRAPHS = [
    "Thanks for the notes from Tuesday. I went through the open points again "
    "and most of them are settled: the mail relay now refuses unauthenticated "
    "submissions on port 587, the old POP3 service is gone, and the backup "
    "job for the queue directory runs at 02:30 every night.",
    "What is still open is the question of the spool partition. It is at 71% "
    "and grows by roughly two percent a week, mostly because of large "
    "attachments that people send to themselves instead of using the file "
    "share. I would like to raise the quota warning to 85% and add a second "
    "disk before the end of the quarter.",
    "The new content filter has been running on the test domain for three "
    "weeks without a single temporary failure. The log shows about 1,200 "
    "messages a day, of which 14 were held back for attachments with "
    "executable content and 3 for broken MIME structure. None of them were "
    "false positives as far as I can tell.",
    "For the migration itself I suggest we move one virtual domain per "
    "evening, starting with the smallest one, and keep the old dot-qmail "
    "files in place for a week so that we can switch back quickly. The "
    "checklist is in the wiki under Operations / Mail / Migration.",
    "Please also have a look at the updated on-call rota. I swapped the "
    "second and third week of next month because of the conference, and "
    "Maria agreed to take the Saturday shift in exchange for the Monday.",
    "Finally, the license renewal for the monitoring system is due on the "
    "15th. The quote is attached to the ticket; it is the same price as last "
    "year, so I would simply approve it unless someone objects by Friday.",
]


def headers(subject, msgid, extra=()):
    h = [
        "Received: (qmail 28416 invoked from network); 14 Mar 2025 09:12:44 -0000",
        "Received: from mail.example.org (HELO mail.example.org) (192.0.2.25)",
        "  by mx.example.com with ESMTPS (TLS_AES_256_GCM_SHA384 encrypted);"
        " 14 Mar 2025 09:12:44 -0000",
        "From: Alice Example <%s>" % SENDER,
        "To: Bob Example <%s>" % RCPT,
        "Subject: %s" % subject,
        "Date: Fri, 14 Mar 2025 10:12:40 +0100",
        "Message-ID: <%s@mail.example.org>" % msgid,
        "MIME-Version: 1.0",
        "User-Agent: Benchmark/1.0",
    ]
    h.extend(extra)
    return "\n".join(h) + "\n"


def text_body(target):
    """Plain text of about `target` bytes, built from the fixed paragraphs."""
    out, i = [], 0
    size = 0
    while size < target:
        p = PARAGRAPHS[i % len(PARAGRAPHS)]
        # wrap at 72 columns
        line, lines = "", []
        for w in p.split():
            if len(line) + len(w) + 1 > 72:
                lines.append(line)
                line = w
            else:
                line = (line + " " + w).strip()
        lines.append(line)
        para = "\n".join(lines) + "\n\n"
        out.append(para)
        size += len(para)
        i += 1
    return "Hi Bob,\n\n" + "".join(out) + "Regards,\nAlice\n"


def b64lines(data):
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i : i + 76] for i in range(0, len(s), 76)) + "\n"


def randbytes(rng, n):
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


def minimal_pdf(rng, raw_size):
    """A real (if minimal) one-page PDF, padded with unreferenced binary
    stream objects to about raw_size bytes; xref offsets are exact."""
    content = b"BT /F1 18 Tf 72 720 Td (Quarterly report Q1 2025) Tj ET\n"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]

    def build(objs):
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for n, body in enumerate(objs, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objs) + 1,
            xref,
        )
        return bytes(out)

    base = len(build(objs))
    pad_total = max(0, raw_size - base)
    chunk = 8192
    while pad_total > 0:
        n = min(chunk, pad_total)
        # account for the object wrapper and xref entry (~60 bytes)
        n = max(1, n - 60)
        data = randbytes(rng, n)
        objs.append(b"<< /Length %d >>\nstream\n" % n + data + b"\nendstream")
        pad_total -= n + 60
    return build(objs)


def multipart(subject, msgid, boundary, text, att_headers, att_data):
    h = headers(
        subject,
        msgid,
        ['Content-Type: multipart/mixed; boundary="%s"' % boundary],
    )
    body = (
        "This is a multi-part message in MIME format.\n"
        "--%s\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "%s"
        "\n--%s\n"
        "%s"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "%s"
        "--%s--\n"
    ) % (boundary, text, boundary, att_headers, b64lines(att_data), boundary)
    return h + "\n" + body


def main():
    d = sys.argv[1]
    rng = random.Random(SEED)
    msgs = {}

    # (a) ~4 KB plain text
    msgs["small.eml"] = (
        headers(
            "Re: mail server migration, open points",
            "20250314091240.28411.qmail",
            [
                "Content-Type: text/plain; charset=utf-8",
                "Content-Transfer-Encoding: 7bit",
            ],
        )
        + "\n"
        + text_body(3300)
    )

    # (b) ~60 KB multipart/mixed with report.pdf
    pdf = minimal_pdf(rng, 42800)
    msgs["medium.eml"] = multipart(
        "Quarterly report Q1 2025",
        "20250314091241.28412.qmail",
        "------------bench0medium0boundary",
        text_body(400),
        'Content-Type: application/pdf; name="report.pdf"\n'
        "Content-Disposition: attachment;\n"
        ' filename="report.pdf"\n',
        pdf,
    )

    # (c) ~10 MB multipart/mixed with 7.5 MB of seeded pseudo-random data
    data = randbytes(rng, 7_500_000)
    msgs["large.eml"] = multipart(
        "Measurement data, full run",
        "20250314091242.28413.qmail",
        "------------bench0large0boundary",
        text_body(800),
        'Content-Type: application/octet-stream; name="data.bin"\n'
        "Content-Disposition: attachment;\n"
        ' filename="data.bin"\n',
        data,
    )

    # bad messages: each must be caught by every filter
    msgs["bad-subject.eml"] = (
        headers(
            "Make Money FAST from home",
            "20250314091243.28414.qmail",
            ["Content-Type: text/plain; charset=utf-8"],
        )
        + "\n"
        + text_body(1000)
    )
    msgs["bad-body.eml"] = (
        headers(
            "Re: planning",
            "20250314091244.28415.qmail",
            ["Content-Type: text/plain; charset=utf-8"],
        )
        + "\n"
        + text_body(1000)
        + "\nP.S. Tomorrow we Kill The Boss at chess, 12:00 in the canteen.\n"
    )
    mz = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + randbytes(rng, 2000)
    msgs["bad-filename.eml"] = multipart(
        "Invoice 2025-0314",
        "20250314091245.28416.qmail",
        "------------bench0bad0boundary",
        text_body(300),
        'Content-Type: application/octet-stream; name="invoice.exe"\n'
        "Content-Disposition: attachment\n",
        mz,
    )
    msgs["bad-filename-folded.eml"] = multipart(
        "Nice screensaver",
        "20250314091246.28417.qmail",
        "------------bench0bad1boundary",
        text_body(300),
        "Content-Type: application/octet-stream\n"
        "Content-Disposition: attachment;\n"
        ' filename="screensaver.scr"\n',
        mz,
    )

    for name, text in msgs.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()
