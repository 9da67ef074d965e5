#!/usr/bin/env bash
# Docs that cannot drift, part two (bpftool's test_bpftool_synctypes.py in
# spirit): for every object of the binary, the commands and keywords its
# `help` shows, those its man page shows (BUILD/man, rendered by man(1)),
# and those the bash completion (dist/helios-agent.bash, run in bash)
# offers must be the same sets. Also: a man page per object, and a planted
# difference is caught (so the comparison itself can fail).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${HELIOS_BUILD:-${1:-build}}
export AGENT=$build/helios-agent MANDIR=$build/man
exec python3 - <<'PY'
import os, re, subprocess, sys

agent, mandir = os.environ["AGENT"], os.environ["MANDIR"]
n = 0
failed = False

def ok(cond, what, detail=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failed = True
        for l in detail.splitlines():
            print("# " + l)

def out(*args):
    p = subprocess.run([agent, *args], capture_output=True, text=True)
    return p.stdout + p.stderr

KW = re.compile(r"[a-z][a-z0-9-]*$")
PH = re.compile(r"[A-Z][A-Z0-9_]*$")

def tokens(line):
    line = re.split(r"\s{2,}", line.strip())[0]     # drop the comment
    line = re.sub(r"\([^)]*\)", " ", line)            # and remarks
    return [t for t in re.split(r"[\s{}\[\]|]+", line) if t and t != "..."]

def model(lines, options):
    """From usage lines ("OBJ ...") and option keywords: the object's
    flat keyword set, and per command (when it has commands) its keyword
    set and how many placeholders come first."""
    toks = [tokens(l) for l in lines]
    flat = set()
    for t in toks:
        flat |= {w for w in t[1:] if KW.match(w)}
        if "OPTIONS" in t:
            flat |= options
    seconds = {t[1] for t in toks if len(t) > 1 and KW.match(t[1])}
    cmds = {}
    if len(seconds) >= 2:
        for t in toks:
            c = cmds.setdefault(t[1], {"kw": set(), "npos": None})
            rest = t[2:]
            if c["npos"] is None:
                c["npos"] = next((i for i, w in enumerate(rest)
                                  if not PH.match(w) or w == "OPTIONS"), len(rest))
            c["kw"] |= {w for w in rest if KW.match(w)}
            if "OPTIONS" in rest:
                c["kw"] |= options
    first = toks[0][1:] if toks else []
    npos = next((i for i, w in enumerate(first)
                 if not PH.match(w) or w == "OPTIONS"), len(first))
    return {"flat": flat, "cmds": cmds, "npos": npos}

def help_model(obj):
    text = out(obj, "help")
    lines, opts, in_usage, in_opts = [], set(), True, False
    for l in text.splitlines():
        m = re.match(r"(?:Usage: |\s+)helios-agent (.*)", l)
        if in_usage and m:
            lines.append(m.group(1))
        elif in_usage and lines and re.match(r"\s{8,}\S", l):
            lines[-1] += " " + l.strip()           # a continuation
        elif in_usage:
            in_usage = False                       # the grammar ends
        if l.startswith("OPTIONS:"):
            in_opts = True
        elif in_opts and re.match(r"  \S", l):
            opts.add(l.split()[0])
        elif in_opts and not l.strip():
            in_opts = False
    return model(lines, opts)

def man_text(page):
    env = dict(os.environ, MANWIDTH="2000", MAN_KEEP_FORMATTING="")
    p = subprocess.run(["man", "-l", page], capture_output=True, text=True, env=env)
    return re.sub(r".\x08", "", p.stdout)

def man_model(text):
    lines, opts, sect = [], set(), None
    for l in text.splitlines():
        if re.match(r"[A-Z]", l):
            sect = l.strip()
        elif sect == "SYNOPSIS" and l.strip().startswith("helios-agent "):
            lines.append(l.strip()[len("helios-agent "):])
        elif sect == "OPTIONS":
            m = re.match(r" {7}(\S+) \S+$", l)
            if m:
                opts.add(m.group(1))
    return model(lines, opts)

def complete(words):
    script = ('source dist/helios-agent.bash; COMP_LINE="$1"; '
              'COMP_POINT=${#COMP_LINE}; _helios_agent; printf "%s\\n" "${COMPREPLY[@]}"')
    line = " ".join([agent, *words]) + " "
    p = subprocess.run(["bash", "-c", script, "-", line], capture_output=True, text=True)
    return {w for w in p.stdout.split() if w}

def completion_model(obj, ref):
    """What completion offers, asked the way ref's grammar says."""
    if not ref["cmds"]:   # ("help" is every object's, never in a grammar)
        return {"flat": complete([obj] + ["X"] * ref["npos"]) - {"help"}, "cmds": {}}
    cmds = {}
    for c in complete([obj]) - {"help"}:
        npos = ref["cmds"].get(c, {"npos": 0})["npos"]
        cmds[c] = {"kw": complete([obj, c] + ["X"] * npos)}
    return {"flat": None, "cmds": cmds}

def diff(a, b, na, nb):
    """'' when a and b (models) agree, else what differs."""
    msg = []
    if a["cmds"] or b["cmds"]:
        ca, cb = set(a["cmds"]), set(b["cmds"])
        if ca != cb:
            msg.append(f"commands only in {na}: {sorted(ca - cb)}, only in {nb}: {sorted(cb - ca)}")
        for c in sorted(ca & cb):
            ka, kb = a["cmds"][c]["kw"], b["cmds"][c]["kw"]
            if ka != kb:
                msg.append(f"{c}: keywords only in {na}: {sorted(ka - kb)}, only in {nb}: {sorted(kb - ka)}")
    elif a["flat"] != b["flat"]:
        msg.append(f"keywords only in {na}: {sorted(a['flat'] - b['flat'])}, only in {nb}: {sorted(b['flat'] - a['flat'])}")
    return "\n".join(msg)

objs = out("help", "objects").split()
ok(len(objs) >= 10, f"the binary lists its objects ({len(objs)})")
ok(complete([]) - {"help"} == set(objs), "completion offers every object and no other")
top = out("help")
for obj in objs:
    page = f"{mandir}/helios-agent-{obj}.8"
    if not os.path.exists(page):
        ok(False, f"{obj}: man page helios-agent-{obj}(8) exists", f"missing {page} (make man)")
        continue
    h, m = help_model(obj), man_model(man_text(page))
    ok(h["flat"] or h["cmds"] or obj in ("stats", "health", "version", "detach"),
       f"{obj}: help shows a grammar")
    d = diff(h, m, "help", "man page")
    ok(not d, f"{obj}: help and man page name the same commands and keywords", d)
    d = diff(h, completion_model(obj, h), "help", "completion")
    ok(not d, f"{obj}: help and bash completion offer the same commands and keywords", d)
    ok(f"helios-agent-{obj}(8)" in man_text(f"{mandir}/helios-agent.8") and
       f"helios-agent {obj}" in top, f"{obj}: in helios-agent(8) and the top-level help")

# The comparison must be able to fail: a man page that lost a keyword.
text = man_text(f"{mandir}/helios-agent-service.8")
planted = re.sub(r"(?m)^ {7}ring N$", "", text)
ok(planted != text and diff(help_model("service"), man_model(planted), "help", "man"),
   "a man page missing the ring keyword is reported")
conf = man_text(f"{mandir}/helios.conf.5")
ok(all(k in conf for k in ("on_down", "lag_degraded", "established", "weight")),
   "helios.conf(5) lists the configuration keys")
print(f"1..{n}")
sys.exit(1 if failed else 0)
PY
