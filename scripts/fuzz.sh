#!/bin/sh
# make fuzz: libFuzzer + AddressSanitizer over TriageWire's capture reading,
# TCP reassembly and TLS parsing. SwiftPM renames an executable's main, which
# libFuzzer must supply, so the fuzzer is built with swiftc directly from
# TriageWire's sources (one module). RUNS defaults to one million inputs.
set -eu
RUNS=${RUNS:-1000000}
OUT=.build-fuzz
mkdir -p "$OUT/corpus"
sed '/^import TriageWire/d' Benchmarks/CaptureFuzz/CaptureFuzz.swift > "$OUT/Fuzz.swift"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name CaptureFuzz \
    $(find Sources/TriageWire -name '*.swift') "$OUT/Fuzz.swift" -o "$OUT/capture-fuzz"
# Seeds: captures triage writes itself (a handshake with an alert, a TLS 1.2 one).
if [ -z "$(ls -A "$OUT/corpus")" ]; then
    .build/debug/triage demo --no-nginx --out "$OUT/seed-case" >/dev/null 2>&1 || true
    cp "$OUT"/seed-case/evidence/handshake/handshake.pcapng "$OUT/corpus/" 2>/dev/null || true
fi
cd "$OUT"
SWIFT_BACKTRACE=enable=no ./capture-fuzz corpus -runs="$RUNS" -max_len=16384 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1
