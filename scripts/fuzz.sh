#!/bin/sh
# make fuzz: libFuzzer over everything triage parses from the outside.
#
# capture-fuzz: TriageWire's capture reading, TCP reassembly and TLS parsing,
#   built with swiftc directly from TriageWire's sources with AddressSanitizer.
# parser-fuzz: the runbook loader and expression parser (TRIAGE_FUZZ_TARGET=
#   runbook), the nginx configuration parser (nginx) and the DNS message
#   parser (dns), built by SwiftPM with coverage and AddressSanitizer into .build-fuzz.
#
# RUNS inputs per target (default one million). A crash leaves its input in
# .build-fuzz/<target>/crash-*; replay it with `.build/debug/parser-fuzz FILE`
# (TRIAGE_FUZZ_TARGET set) and turn it into a regression test.
set -eu
RUNS=${RUNS:-1000000}
OUT=.build-fuzz
mkdir -p "$OUT/capture/corpus" "$OUT/runbook/corpus" "$OUT/nginx/corpus" "$OUT/dns/corpus"

# capture-fuzz
sed '/^import TriageWire/d' Benchmarks/CaptureFuzz/CaptureFuzz.swift > "$OUT/Fuzz.swift"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name CaptureFuzz \
    $(find Sources/TriageWire -name '*.swift') "$OUT/Fuzz.swift" -o "$OUT/capture-fuzz"
if [ -z "$(ls -A "$OUT/capture/corpus")" ]; then
    .build/debug/triage demo --no-nginx --out "$OUT/seed-case" >/dev/null 2>&1 || true
    cp "$OUT"/seed-case/evidence/handshake/handshake.pcapng "$OUT/capture/corpus/" 2>/dev/null || true
fi

# parser-fuzz: instrumented for libFuzzer (coverage, AddressSanitizer) and
# linked with its driver without main: SwiftPM gives the executable an entry
# point of its own, which calls LLVMFuzzerRunDriver.
NOMAIN=$(ls "$(dirname "$(command -v swiftc)")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)
swift build -c release --product parser-fuzz --scratch-path "$OUT/spm" -Xswiftc -DFUZZING \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
    -Xlinker "$NOMAIN" -Xlinker -lstdc++
FUZZER="$OUT/spm/release/parser-fuzz"
cp runbooks/*.yaml "$OUT/runbook/corpus/"
cp Benchmarks/fuzz-seeds/nginx/*.conf "$OUT/nginx/corpus/"
python3 - "$OUT/dns/corpus" <<'PY'
import struct, sys, os
out = sys.argv[1]
def name(n): return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"
q = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 2, 0, 0) + name("api.example.test") + struct.pack(">HH", 1, 1)
a1 = b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 300, 6) + name("cdn.test")[:6]
a2 = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes([127, 0, 0, 1])
open(os.path.join(out, "answer.bin"), "wb").write(q + a1 + a2)
aaaa = struct.pack(">HHHHHH", 7, 0x8180, 1, 1, 0, 0) + name("v6.test") + struct.pack(">HH", 28, 1) + b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 60, 16) + bytes(15) + b"\1"
open(os.path.join(out, "aaaa.bin"), "wb").write(aaaa)
nx = struct.pack(">HHHHHH", 9, 0x8183, 1, 0, 0, 0) + name("nx.example.com") + struct.pack(">HH", 1, 1)
open(os.path.join(out, "nxdomain.bin"), "wb").write(nx)
PY

status=0
run() {
    target=$1; shift
    echo "== $target: $RUNS inputs"
    rc=0
    (cd "$OUT/$target" && SWIFT_BACKTRACE=enable=no "$@" corpus -runs="$RUNS" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix=./ > fuzz.log 2>&1) || rc=$?
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|crash-|timeout-|oom-" "$OUT/$target/fuzz.log" || true
    [ "$rc" -eq 0 ] || { echo "$target: libFuzzer exited $rc (see $OUT/$target/fuzz.log)"; status=1; }
}
run capture "$(pwd)/$OUT/capture-fuzz" -max_len=16384
TRIAGE_FUZZ_TARGET=runbook run runbook "$(pwd)/$FUZZER" -max_len=4096 -dict="$(pwd)/Benchmarks/fuzz-seeds/runbook.dict"
TRIAGE_FUZZ_TARGET=nginx run nginx "$(pwd)/$FUZZER" -max_len=4096 -dict="$(pwd)/Benchmarks/fuzz-seeds/nginx.dict"
TRIAGE_FUZZ_TARGET=dns run dns "$(pwd)/$FUZZER" -max_len=1024
exit $status
