#!/bin/sh
# make bench, capture part: a generated capture of 50,000 TLS 1.2 handshakes
# (one in five ending in fatal alert 45 from the client) decoded by
# TriageWire in its own process, then the same counts from tshark.
set -eu
FILE=${TMPDIR:-/tmp}/triage-bench-capture.pcapng
.build/release/capture-bench "$FILE" 50000 >/dev/null
.build/release/capture-bench "$FILE" 50000 --decode-only
printf 'tshark alerts:    '
tshark -r "$FILE" -Y tls.alert_message -T fields -e tls.alert_message.desc 2>/dev/null | wc -l
printf 'tshark certs:     '
tshark -r "$FILE" -Y 'tls.handshake.type == 11' -T fields -e x509af.utcTime 2>/dev/null | tr ',' '\n' | grep -c UTC | awk '{ print $1 / 2 }'
rm -f "$FILE"
