#!/bin/sh
# Installs what triage needs to build, test and run its demo: Debian packages
# for OpenSSL, libcurl, libpcap, nginx, tshark and Prometheus (with its
# blackbox_exporter, for the exporter test and benchmark), and two PyPI packages for
# the schema test. Installs only what is missing; `apt-get update` runs once.
set -eu

PACKAGES="libssl-dev libcurl4-openssl-dev libpcap-dev pkg-config openssl nginx-light tshark iproute2 util-linux procps python3 python3-venv curl prometheus prometheus-blackbox-exporter zlib1g-dev"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -n "$missing" ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root (or sudo) to install:$missing" >&2; exit 1; }
        SUDO=sudo
    fi
    echo "install-deps: installing$missing" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

if ! python3 -c 'import jsonschema, yaml' 2>/dev/null; then
    echo "install-deps: installing jsonschema and PyYAML from PyPI" >&2
    # An "externally managed" Debian Python refuses plain pip installs.
    python3 -m pip install -q jsonschema pyyaml 2>/dev/null \
        || python3 -m pip install -q --break-system-packages jsonschema pyyaml
fi
