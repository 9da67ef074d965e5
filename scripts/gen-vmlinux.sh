#!/usr/bin/env bash
# Generate vmlinux.h from the running kernel's BTF. Without BTF, keep the
# committed copy (vmlinux/vmlinux.h) so the BPF code still builds.
set -euo pipefail
out=${1:?usage: gen-vmlinux.sh OUT}
committed=$(dirname "$0")/../vmlinux/vmlinux.h
mkdir -p "$(dirname "$out")"
if [ -r /sys/kernel/btf/vmlinux ] && command -v bpftool >/dev/null; then
	bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$out.tmp"
	mv "$out.tmp" "$out"
else
	echo "no kernel BTF: using committed vmlinux/vmlinux.h" >&2
	cp "$committed" "$out"
fi
