#!/bin/sh
# make fuzz: libFuzzer over everything triage parses from the outside.
#
# capture-fuzz: TriageWire's capture reading, TCP reassembly and TLS parsing,
#   built with swiftc directly from TriageWire's sources with AddressSanitizer.
# parser-fuzz: the runbook loader and expression parser (TRIAGE_FUZZ_TARGET=
#   runbook), the nginx configuration parser (nginx), the DNS message parser
#   (dns), every output sink with its promises (sinks), the exporter's request
#   handling in process (exporter) and the names read from a certificate's DER
#   (certnames), built by SwiftPM with coverage and AddressSanitizer into .build-fuzz.
#
# RUNS inputs per target (default one million); TARGETS names the targets to run (default all). A crash leaves its input in
# .build-fuzz/<target>/crash-*; replay it with `.build/debug/parser-fuzz FILE`
# (TRIAGE_FUZZ_TARGET set) and turn it into a regression test.
set -eu
RUNS=${RUNS:-1000000}
OUT=.build-fuzz
for t in capture runbook nginx dns sinks exporter certnames; do mkdir -p "$OUT/$t/corpus"; done

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

# sinks: the hostile strings of SinkTests; exporter: request heads.
printf 'victim.test\000.attacker.example' > "$OUT/sinks/corpus/nul"
printf '</details><script>x</script> `a` |b| A-->>B: #59; %%%% \033[2J \342\200\256rtl' > "$OUT/sinks/corpus/markup"
printf 'GET /probe?target=api.example.test:443&module=default HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 4.5\r\n\r\n' > "$OUT/exporter/corpus/probe"
printf 'GET /probe?target=https://%%5B::1%%5D:8443/x&module=http HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: inf\r\n\r\n' > "$OUT/exporter/corpus/v6"
printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' > "$OUT/exporter/corpus/metrics"
# certnames: certificates with DNS, IP, email and URI names, one with a NUL inside a name.
if [ -z "$(ls -A "$OUT/certnames/corpus")" ]; then
    d=$(mktemp -d)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/k" -subj "/CN=api.example.test/O=fuzz" -days 30 \
        -addext "subjectAltName=DNS:api.example.test,DNS:*.example.test,IP:127.0.0.1,IP:::1,email:a@example.test,URI:https://example.test/" \
        -outform DER -out "$OUT/certnames/corpus/names.der" 2>/dev/null
    hex=$(printf 'victim.test\000.attacker.example' | od -An -tx1 | tr -d ' \n')
    printf '[v3]\nsubjectAltName = DER:30%02x82%02x%s\n' $(( ${#hex} / 2 + 2 )) $(( ${#hex} / 2 )) "$hex" > "$d/ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/k2" -subj "/CN=victim.test" -out "$d/csr" 2>/dev/null
    openssl x509 -req -in "$d/csr" -signkey "$d/k2" -days 30 -extfile "$d/ext" -extensions v3 \
        -outform DER -out "$OUT/certnames/corpus/nul.der" 2>/dev/null
    rm -rf "$d"
fi

status=0
# TARGETS: the targets to run (default all), e.g. TARGETS="sinks exporter".
TARGETS=${TARGETS:-capture runbook nginx dns sinks exporter certnames}
run() {
    target=$1; shift
    case " $TARGETS " in *" $target "*) ;; *) return 0 ;; esac
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
TRIAGE_FUZZ_TARGET=sinks run sinks "$(pwd)/$FUZZER" -max_len=4096
TRIAGE_FUZZ_TARGET=exporter run exporter "$(pwd)/$FUZZER" -max_len=2048
TRIAGE_FUZZ_TARGET=certnames run certnames "$(pwd)/$FUZZER" -max_len=4096
exit $status
