#!/usr/bin/env bash
# Install every Debian package the build, tests, demo and benchmarks need.
# Idempotent: when everything is present it only runs dpkg-query and exits.
# --bench, --check and --fuzz add what `make bench`, `make check` and
# `make fuzz` need.
set -euo pipefail

pkgs=(
	clang llvm make gcc pkg-config libasan8 libubsan1
	libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
	libpq-dev libjson-c-dev libmnl-dev libevent-dev libconfig-dev
	libsystemd-dev scdoc man-db libmicrohttpd-dev prometheus tmux
	postgresql postgresql-contrib
	iproute2 ethtool procps util-linux
	bats bats-assert bats-support jq
	python3 bird2
	patroni etcd-server python3-etcd curl
)
[ "${1:-}" = "--bench" ] && pkgs+=(haproxy gnuplot-nox)
[ "${1:-}" = "--check" ] && pkgs+=(cppcheck clang-tidy)
[ "${1:-}" = "--fuzz" ] && pkgs+=(libclang-rt-14-dev)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Error: missing packages (${missing[*]}) and not root to install them" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# etcd-server and patroni start etcd.service and patroni.service when
# installed and at every boot; the tests run their own, in namespaces, and
# the host must not serve a DCS on its own addresses. No start during the
# install (policy-rc.d, if the host has none), and the units this run
# installed are disabled after it.
units=()
for p in "${missing[@]}"; do
	case $p in
	etcd-server) units+=(etcd.service) ;;
	patroni) units+=(patroni.service) ;;
	esac
done
if [ ${#units[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for u in "${units[@]}"; do
	systemctl disable --now "$u" >/dev/null 2>&1 ||
		systemctl disable "$u" >/dev/null 2>&1 || true
done
