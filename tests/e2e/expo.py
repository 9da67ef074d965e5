#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Scrape and check Prometheus / OpenMetrics text, for the e2e tests.

  get URL [--om] [--gzip]
                        GET URL (Accept: OpenMetrics with --om, Accept-Encoding:
                        gzip with --gzip); prints the body (decompressed);
                        Content-Type and -Encoding go to stderr as
                        "type: ..." and "encoding: ..."
  check FILE --format prom|om
                        checks the exposition rules; exit 1 with every
                        problem on stderr
  series FILE           {"name{label=\"v\",...}": value, ...} as JSON

The rules checked (Prometheus text format 0.0.4, OpenMetrics 1.0):
- lines are "# HELP name text", "# TYPE name type", samples, (OM) "# EOF"
  last and nothing after it; no blank lines in OM;
- metric and label names match [a-zA-Z_:][a-zA-Z0-9_:]* / [a-zA-Z_][a-zA-Z0-9_]*;
- label values are quoted with only \\\\, \\" and \\n escapes; no label twice;
- a family's HELP and TYPE come before its samples, once each, and its
  samples are contiguous (no family appears twice);
- counters: in 0.0.4 the TYPE names the sample name, which ends in _total;
  in OM the TYPE names the family and samples are family_total;
- values parse as floats (NaN, +Inf, -Inf allowed); counters are >= 0;
- no series (name + label set) appears twice.
"""
import gzip
import json
import re
import sys
import urllib.request

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped", "unknown",
         "info", "stateset", "gaugehistogram"}


def parse_value(s):
    if s in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ValueError(f"bad value {s!r}")
    return float(s)


def parse_sample(line):
    """name{labels} value -> (name, [(k, v)], value string)."""
    m = NAME.match(line)
    if not m:
        raise ValueError("bad metric name")
    name, i, labels = m.group(0), m.end(), []
    if i < len(line) and line[i] == "{":
        i += 1
        while line[i] != "}":
            m = LABEL.match(line, i)
            if not m:
                raise ValueError("bad label name")
            key, i = m.group(0), m.end()
            if line[i:i + 2] != '="':
                raise ValueError("expected =\" after a label name")
            i += 2
            val = []
            while line[i] != '"':
                if line[i] == "\\":
                    esc = line[i + 1]
                    if esc not in '\\"n':
                        raise ValueError(f"bad escape \\{esc}")
                    val.append("\n" if esc == "n" else esc)
                    i += 2
                else:
                    val.append(line[i])
                    i += 1
            i += 1
            labels.append((key, "".join(val)))
            if line[i] == ",":
                i += 1
            elif line[i] != "}":
                raise ValueError("expected , or } after a label")
        i += 1
    if i >= len(line) or line[i] != " ":
        raise ValueError("expected one space before the value")
    rest = line[i + 1:].split(" ")
    if len(rest) > 2:
        raise ValueError("trailing fields")
    return name, labels, rest[0]


def check(text, fmt):
    problems, families, seen_series = [], {}, set()
    current = None          # family whose samples we are in
    done = set()            # families whose samples ended
    lines = text.split("\n")
    if not text.endswith("\n"):
        problems.append("does not end with a newline")
    lines = lines[:-1]
    if fmt == "om":
        if not lines or lines[-1] != "# EOF":
            problems.append("OpenMetrics: last line is not # EOF")
        else:
            lines = lines[:-1]
    for n, line in enumerate(lines, 1):
        where = f"line {n}: "
        if line == "":
            if fmt == "om":
                problems.append(where + "blank line")
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                fam = parts[2]
                if not NAME.fullmatch(fam):
                    problems.append(where + f"bad family name {fam!r}")
                f = families.setdefault(fam, {})
                if parts[1] in f:
                    problems.append(where + f"second {parts[1]} for {fam}")
                if fam in done or (current and current != fam and "samples" in f):
                    problems.append(where + f"{parts[1]} for {fam} after its samples")
                f[parts[1]] = parts[3] if len(parts) > 3 else ""
                if parts[1] == "TYPE" and f["TYPE"] not in TYPES:
                    problems.append(where + f"unknown type {f['TYPE']!r}")
                if current and current != fam:
                    done.add(current)
                current = fam
                continue
            if fmt == "om":
                problems.append(where + "comment other than HELP/TYPE/UNIT/EOF")
            continue
        try:
            name, labels, value = parse_sample(line)
            v = parse_value(value)
        except (ValueError, IndexError) as e:
            problems.append(where + f"{e}: {line!r}")
            continue
        keys = [k for k, _ in labels]
        if len(set(keys)) != len(keys):
            problems.append(where + "a label twice")
        fam = name
        if fmt == "om" and name.endswith("_total") and name[:-6] in families:
            fam = name[:-6]
        f = families.get(fam)
        if f is None or "TYPE" not in f:
            problems.append(where + f"sample of {name} without a TYPE before it")
            continue
        if fam in done:
            problems.append(where + f"samples of {fam} not contiguous")
        if current != fam:
            if current:
                done.add(current)
            current = fam
        f["samples"] = True
        if f["TYPE"] == "counter":
            if not name.endswith("_total"):
                problems.append(where + f"counter sample {name} without _total")
            if fmt == "om" and fam.endswith("_total"):
                problems.append(where + f"OpenMetrics counter family {fam} ends in _total")
            if v < 0:
                problems.append(where + f"negative counter {name}")
        series = (name, tuple(sorted(labels)))
        if series in seen_series:
            problems.append(where + f"series twice: {line!r}")
        seen_series.add(series)
    for fam, f in families.items():
        if "HELP" not in f:
            problems.append(f"{fam}: no HELP")
    return problems


def series(text):
    out = {}
    for line in text.split("\n"):
        if not line or line.startswith("#"):
            continue
        name, labels, value = parse_sample(line)
        key = name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"
        out[key] = parse_value(value)
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "get":
        req = urllib.request.Request(sys.argv[2])
        if "--om" in sys.argv:
            req.add_header("Accept", "application/openmetrics-text; version=1.0.0,"
                           "text/plain;version=0.0.4;q=0.5")
        if "--gzip" in sys.argv:
            req.add_header("Accept-Encoding", "gzip")
        with urllib.request.urlopen(req, timeout=10) as r:
            enc = r.headers.get("Content-Encoding", "")
            print("type: " + r.headers.get("Content-Type", ""), file=sys.stderr)
            print("encoding: " + enc, file=sys.stderr)
            body = r.read()
            print(f"bytes: {len(body)}", file=sys.stderr)
            sys.stdout.write((gzip.decompress(body) if enc == "gzip" else body).decode())
    elif cmd == "check":
        fmt = sys.argv[sys.argv.index("--format") + 1]
        problems = check(open(sys.argv[2]).read(), fmt)
        for p in problems[:50]:
            print(p, file=sys.stderr)
        sys.exit(1 if problems else 0)
    elif cmd == "series":
        json.dump(series(open(sys.argv[2]).read()), sys.stdout)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
