# triage — the two commands a newcomer runs: `make demo` and `make test`.
SWIFT ?= swift
BIN_DEBUG = .build/debug/triage
BIN_RELEASE = .build/release/triage

.PHONY: all install-deps embed build release test demo bench install clean

all: build

install-deps:
	@scripts/install-deps.sh

# Embeds runbooks/ and templates/ into the binary (see scripts/embed.py).
embed:
	@python3 scripts/embed.py

build: install-deps embed
	$(SWIFT) build

release: install-deps embed
	$(SWIFT) build -c release

# The whole suite, inside a private network namespace (loopback only).
test: install-deps embed
	$(SWIFT) build --build-tests
	scripts/in-netns.sh $(SWIFT) test --skip-build

# The embedded demo: a broken upstream on 127.0.0.1 and the report it gets.
demo: build
	scripts/in-netns.sh $(BIN_DEBUG) demo --out incidents/demo; test $$? -le 1

bench: release
	$(SWIFT) build -c release --product triage-bench 2>/dev/null || true
	scripts/in-netns.sh scripts/bench.sh $(BIN_RELEASE)

install: release
	install -m 0755 $(BIN_RELEASE) /usr/local/bin/triage

clean:
	rm -rf .build incidents

# Regenerates schema/runbook.schema.json from the step catalog.
schema: build
	$(BIN_DEBUG) runbooks --schema > schema/runbook.schema.json
