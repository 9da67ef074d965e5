#!/usr/bin/env bash
# Write the option tables into README.md between the options markers, from
# the same tables the CLI and the configuration parser use
# (`helios-agent help markdown`). tests/docs.sh fails when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
agent=${1:-build/helios-agent}
tables=$(mktemp)
trap 'rm -f "$tables"' EXIT
"$agent" help markdown >"$tables"
python3 - "$tables" <<'PY'
import sys
begin, end = "<!-- options:begin (scripts/gen-docs.sh) -->", "<!-- options:end -->"
readme = open("README.md").read()
a, b = readme.index(begin) + len(begin), readme.index(end)
open("README.md", "w").write(readme[:a] + "\n" + open(sys.argv[1]).read() + readme[b:])
PY
