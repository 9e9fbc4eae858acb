# triage — the two commands a newcomer runs: `make demo` and `make test`.
SWIFT ?= swift
BIN_DEBUG = .build/debug/triage
BIN_RELEASE = .build/release/triage

.PHONY: all install-deps embed build release test demo bench fuzz install clean

all: build

install-deps:
	@scripts/install-deps.sh

# Embeds runbooks/ and templates/ into the binary (see scripts/embed.py).
embed:
	@python3 scripts/embed.py

build: install-deps embed
	$(SWIFT) build

# -static-swift-stdlib: start-up is the budget to watch (see README, Benchmark).
release: install-deps embed
	$(SWIFT) build -c release --static-swift-stdlib

# The whole suite, inside a private network namespace (loopback only).
test: install-deps embed
	$(SWIFT) build --build-tests
	scripts/in-netns.sh $(SWIFT) test --skip-build

# The embedded demo: a broken upstream on 127.0.0.1 and the report it gets.
demo: build
	scripts/in-netns.sh $(BIN_DEBUG) demo --out incidents/demo; test $$? -le 1

# Speed and memory of the default runbook vs the manual openssl pipeline.
bench: release
	scripts/in-netns.sh python3 scripts/bench.py $(BIN_RELEASE)
	$(SWIFT) build -c release --static-swift-stdlib --product capture-bench
	scripts/in-netns.sh scripts/bench-capture.sh

# libFuzzer over capture reading and TLS parsing (RUNS=1000000 by default).
fuzz: build
	scripts/in-netns.sh scripts/fuzz.sh

install: release
	install -m 0755 $(BIN_RELEASE) /usr/local/bin/triage

clean:
	rm -rf .build incidents

# Regenerates schema/runbook.schema.json from the step catalog.
schema: build
	$(BIN_DEBUG) runbooks --schema > schema/runbook.schema.json
