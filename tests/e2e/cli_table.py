#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Bad arguments for every CLI command and keyword, from the CLI's tables.

cli_table.py VALUES_JSON -- HELIOS_COMMAND...

Reads the grammar from `HELIOS_COMMAND help grammar` (every object's
usage lines and option keywords) and derives the bad commands from it,
not from a hand-picked list: each command cut short before each required
argument, each typed placeholder given bad values (not a number, out of
range, empty, a newline, bytes that are not UTF-8), a stray word after a
complete command, each optional group and each option keyword with a
missing and with bad values, an unknown command per object. Every case
runs plain and with -j and must give a non-zero exit (not a signal) and
exactly one "Error: " line on stderr and nothing on stdout, or with -j
exactly one line on stdout that is a JSON object {"error": STRING} and
nothing on stderr. The director's state (the snapshot commands of
VALUES_JSON) must be the same after every object's cases as before.

VALUES_JSON maps placeholders to good values ("SVC": ..., "NODE": ...),
"new" placeholder values for add commands, and "snapshot": a list of
argument lists. Prints one line per failure and a summary; exits 1 on
any failure.
"""
import json
import re
import subprocess
import sys

BAD = ["nosuch", "", "-1", "99999999999999999999", "1x", "a\nb",
       b"\xff\xfe\xc3"]
# placeholders whose values are free text: only too long a value is bad
FREE = {"NAME", "STR", "PATH"}
TOO_LONG = "n" * 300


def tokens(line):
    line = re.split(r"\s{2,}", line.strip())[0]       # description
    line = re.sub(r"\([^)]*\)", "", line)               # (not ring)
    line = line.replace("[/s]", "").replace("...", " ... ")
    for c in "[]{}|":
        line = line.replace(c, f" {c} ")
    return line.split()


def parse(toks, i=0, end=None):
    """A sequence up to `end`: a list of ('lit', w), ('ph', w), ('opt',
    [alternatives]), ('alt', [alternatives]), ('more',)."""
    alts, seq = [], []
    while i < len(toks):
        t = toks[i]
        if t == end:
            alts.append(seq)
            return alts, i + 1
        if t == "|":
            alts.append(seq)
            seq = []
            i += 1
        elif t in "[{":
            sub, i = parse(toks, i + 1, "]" if t == "[" else "}")
            seq.append(("opt" if t == "[" else "alt", sub))
        elif t == "...":
            seq.append(("more",))
            i += 1
        else:
            seq.append(("ph" if t.isupper() else "lit", t))
            i += 1
    alts.append(seq)
    return alts, i


def flat(seq):
    """The required items of a sequence (first alternatives)."""
    out = []
    for it in seq:
        if it[0] in ("lit", "ph"):
            out.append(it)
        elif it[0] == "alt":
            out.extend(flat(it[1][0]))
    return out


def value(v, item, new):
    if item[0] == "lit" or item[1] == "OPTIONS":
        return item[1]
    return v["new"].get(item[1], v.get(item[1])) if new else v[item[1]]


class Runner:
    def __init__(self, cmd, v):
        self.cmd, self.v = cmd, v
        self.failures, self.cases, self.seen = [], 0, set()

    def run(self, args, json_mode=False):
        argv = self.cmd + (["-j"] if json_mode else []) + \
            [a if isinstance(a, bytes) else a.encode() for a in args]
        p = subprocess.run(argv, capture_output=True, timeout=20)
        return p.returncode, p.stdout, p.stderr

    def snapshot(self):
        return [self.run(a)[1] for a in self.v["snapshot"]]

    def check(self, args, why):
        key = repr(args)
        if key in self.seen:
            return
        self.seen.add(key)
        self.cases += 1
        shown = " ".join(repr(a) if isinstance(a, bytes) or "\n" in a or
                         not a else a for a in args)
        rc, out, err = self.run(args)
        lines = err.split(b"\n")
        if rc == 0 or rc >= 126 or rc < 0:
            self.fail(shown, why, f"exit {rc}", out, err)
        elif out or len(lines) != 2 or lines[1] or \
                not lines[0].startswith(b"Error: "):
            self.fail(shown, why, "not one 'Error:' line", out, err)
        else:
            try:
                lines[0].decode("utf-8")
            except UnicodeDecodeError:
                self.fail(shown, why, "Error line not UTF-8", out, err)
        rc, out, err = self.run(args, True)
        if rc == 0 or rc >= 126 or rc < 0:
            self.fail(shown, why, f"-j: exit {rc}", out, err)
            return
        try:
            o = json.loads(out.decode("utf-8"))
            good = isinstance(o, dict) and list(o) == ["error"] and \
                isinstance(o["error"], str) and out.count(b"\n") == 1
        except ValueError:
            good = False
        if not good or err:
            self.fail(shown, why, "-j: not one JSON error object", out, err)

    def fail(self, shown, why, what, out, err):
        self.failures.append(f"{what}: helios-agent {shown} ({why})\n"
                             f"    stdout: {out[:300]!r}\n"
                             f"    stderr: {err[:300]!r}")


def cases_of(r, obj, lines, opts):
    """The bad commands of one object."""
    v = r.v
    whole = {tuple(w for k, w in flat(parse(tokens(line))[0][0]))
             for line in lines}
    r.check([obj, "nosuchcommand"], "unknown command")
    for line in lines:
        seq = parse(tokens(line))[0][0]
        req = flat(seq)
        new = len(req) > 1 and req[1] == ("lit", "add")
        good = [value(v, it, new) for it in req]
        # cut short before each required word (never another command)
        for n in range(1, len(req)):
            if tuple(w for k, w in req[:n]) not in whole and \
                    req[n][1] != "OPTIONS":
                r.check(good[:n], f"missing {req[n][1]}")
        # each placeholder bad
        for i, it in enumerate(req):
            if it[0] != "ph" or it[1] == "OPTIONS":
                continue
            for b in [TOO_LONG] if it[1] in FREE else BAD:
                args = good[:i] + [b] + good[i + 1:]
                if "OPTIONS" in [w for k, w in req]:
                    args = [a for a in args if a != "OPTIONS"]
                r.check(args, f"bad {it[1]}")
        base = [g for g, it in zip(good, req) if it[1] != "OPTIONS"]
        r.check(base + ["bogusword"], "a word after the command")
        # optional groups: the keyword alone, and with bad values
        for it in seq:
            if it[0] != "opt":
                continue
            grp = flat(it[1][0])
            if len(grp) < 2 or grp[0][0] != "lit":
                continue                        # a flag: [leaky]
            r.check(base + [grp[0][1]], f"{grp[0][1]} without its value")
            for j, g in enumerate(grp):
                if g[0] != "ph":
                    continue
                for b in [TOO_LONG] if g[1] in FREE else BAD:
                    args = [value(v, x, new) for x in grp]
                    args[j] = b
                    r.check(base + args, f"{grp[0][1]} {g[1]} bad")
        # option keywords
        if ("ph", "OPTIONS") in req:
            for o in opts:
                key, arg = o[0], o[1]
                r.check(base + [key], f"{key} without its value")
                for b in [TOO_LONG] if arg in FREE and not o[2:] else BAD:
                    r.check(base + [key, b], f"{key} bad value")


def main():
    v = json.load(open(sys.argv[1]))
    r = Runner(sys.argv[sys.argv.index("--") + 1:], v)
    rc, out, err = r.run(["help", "grammar"])
    if rc:
        print(f"help grammar failed: {err!r}")
        return 1
    usage, opts = {}, {}
    for rec in out.decode().splitlines():
        f = rec.split("\t")
        if f[0] == "usage":
            usage.setdefault(f[1], []).append(f[2])
        elif f[0] == "opt":
            opts.setdefault(f[1], []).append(f[2:])
    r.check([], "no object")
    r.check(["nosuchobject"], "unknown object")
    r.check(["--nosuchoption"], "unknown global option")
    r.check(["--bpffs"], "global option without its value")
    for obj, lines in usage.items():
        before = r.snapshot()
        n = r.cases
        cases_of(r, obj, lines, opts.get(obj, []))
        if r.snapshot() != before:
            r.failures.append(f"state changed by the bad {obj} commands")
        print(f"# {obj}: {r.cases - n} bad commands")
    for f in r.failures:
        print("FAIL " + f)
    print(f"# {r.cases} bad commands (x2: plain and -j) over "
          f"{len(usage)} objects, {sum(map(len, usage.values()))} usage "
          f"lines, {sum(map(len, opts.values()))} keywords: "
          f"{len(r.failures)} failures")
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
