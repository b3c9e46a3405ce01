#!/usr/bin/env bash
# Installs the Debian packages renraku needs, only those missing.
# Usage: scripts/deps.sh [build|fuzz|bench]  (default: build)
set -euo pipefail

pkgs=(build-essential cmake pkg-config libzmq3-dev libprotobuf-c-dev
      protobuf-c-compiler libsodium-dev libcmocka-dev libjansson-dev libssl-dev
      python3-jsonschema)
case "${1:-build}" in
    fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    # bench: the peers of issue 7 figure 3 (brokers and their C clients),
    # and perf for the profile that says what limits each figure
    bench) pkgs+=(hyperfine linux-perf mosquitto libmosquitto-dev nats-server
                  libnats-dev) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "renraku: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "renraku: error: need root (or sudo) to install: ${missing[*]}" >&2
    echo "renraku: run as root, or: apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
