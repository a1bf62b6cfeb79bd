#!/bin/sh
# Installs the Debian packages nnheat needs to build, test and run its demo.
# As root it runs apt-get; otherwise it prints the line to run.
set -e
PKGS="cmake make gcc pkg-config libprotobuf-c-dev protobuf-c-compiler libonnx-dev
libonnx-testdata libopenblas-dev libcjson-dev zlib1g-dev libhdf5-dev libzip-dev
dataset-fashion-mnist python3-numpy python3-onnx python3-h5py libopenmpi-dev openmpi-bin"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    echo "nnheat: installing Debian packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "nnheat: missing Debian packages; run as root:" >&2
    echo "    apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
