# triage — the two commands a newcomer runs: `make demo` and `make test`.
SWIFT ?= swift
BIN_DEBUG = .build/debug/triage
BIN_RELEASE = .build/release/triage

.PHONY: all install-deps embed build release symbol-order test demo bench compare-trust fuzz install clean

all: build

install-deps:
	@scripts/install-deps.sh

# Embeds runbooks/ and templates/ into the binary (see scripts/embed.py).
embed:
	@python3 scripts/embed.py

build: install-deps embed
	$(SWIFT) build

# Start-up and peak RSS are budgets to watch (see README, Benchmark): the Swift
# runtime linked in (-static-swift-stdlib); every function in a section of its
# own, laid out by lld in the order scripts/symbol-order.txt gives (what the usual
# commands execute, packed: a run touched code all over the binary's 21 MB, and
# each page touched maps the 64 KB around it). (Packed relative relocations, RELR,
# would make the binary need glibc 2.36: Ubuntu 22.04 and RHEL 9 could not run it.)
RELEASE = -c release --static-swift-stdlib \
	-Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xswiftc -use-ld=lld \
	-Xlinker --symbol-ordering-file=$(CURDIR)/scripts/symbol-order.txt -Xlinker --no-warn-symbol-ordering

release: install-deps embed
	$(SWIFT) build $(RELEASE)

# Regenerates scripts/symbol-order.txt from the current code (valgrind's callgrind
# names the functions the usual commands run), then links the binary with it.
symbol-order: release
	command -v valgrind >/dev/null || apt-get install -y valgrind
	scripts/in-netns.sh python3 scripts/symbol-order.py $(BIN_RELEASE) .build
	rm -f $(BIN_RELEASE) && $(SWIFT) build $(RELEASE)

# The whole suite, inside a private network namespace (loopback only). Its ~300
# cases run at once in one process: the blocking pool may grow past its 64.
# Their certificates, cases and servers' files go to one temporary folder,
# removed at the end whatever the outcome.
test: install-deps embed
	$(SWIFT) build --build-tests
	@scratch=$$(mktemp -d /tmp/triage-tests.XXXXXX) && \
	TMPDIR=$$scratch TRIAGE_BLOCKING_THREADS=512 scripts/in-netns.sh $(SWIFT) test --skip-build --skip LeakTests; \
	status=$$?; \
	TMPDIR=$$scratch TRIAGE_BLOCKING_THREADS=512 scripts/in-netns.sh $(SWIFT) test --skip-build --filter LeakTests || status=1; \
	rm -rf "$$scratch"; exit $$status

# The embedded demo: a broken upstream on 127.0.0.1 and the report it gets.
demo: build
	scripts/in-netns.sh $(BIN_DEBUG) demo --out incidents/demo --force; test $$? -le 1

# Speed and memory: the default runbook vs the manual openssl pipeline, capture
# decoding, scan vs sslyze and an openssl loop, a 240-address fan-out, analyze vs tshark.
bench: release
	scripts/in-netns.sh python3 scripts/bench.py $(BIN_RELEASE)
	$(SWIFT) build $(RELEASE) --product capture-bench
	scripts/in-netns.sh scripts/bench-capture.sh
	test -x .build/bench-venv/bin/sslyze || { python3 -m venv .build/bench-venv && .build/bench-venv/bin/pip install -q sslyze; }
	scripts/in-netns.sh python3 scripts/bench-fleet.py $(BIN_RELEASE)
	scripts/in-netns.sh python3 scripts/bench-exporter.py $(BIN_RELEASE)
	scripts/in-netns.sh python3 scripts/bench-exporter-memory.py $(BIN_RELEASE)

# Trust and time beside sslyze and testssl.sh on the same minted fixtures (a Markdown table).
compare-trust: build
	command -v testssl >/dev/null || apt-get install -y testssl.sh
	test -x .build/bench-venv/bin/sslyze || { python3 -m venv .build/bench-venv && .build/bench-venv/bin/pip install -q sslyze; }
	scripts/in-netns.sh python3 scripts/compare-trust.py $(BIN_DEBUG) .build/bench-venv/bin/sslyze

# libFuzzer over capture reading and TLS parsing (RUNS=1000000 by default).
fuzz: build
	scripts/in-netns.sh scripts/fuzz.sh

# The binary, its man page (generated from the argument parser) and bash,
# zsh and fish completions, under $(DESTDIR)$(PREFIX).
PREFIX ?= /usr/local
install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 $(BIN_RELEASE) $(DESTDIR)$(PREFIX)/bin/triage
	mkdir -p .build/man
	$(SWIFT) package --allow-writing-to-directory .build/man generate-manual --output-directory .build/man
	install -m 0644 .build/man/triage.1 $(DESTDIR)$(PREFIX)/share/man/man1/triage.1
	$(BIN_RELEASE) --generate-completion-script bash > .build/triage.bash
	$(BIN_RELEASE) --generate-completion-script zsh > .build/_triage
	$(BIN_RELEASE) --generate-completion-script fish > .build/triage.fish
	install -m 0644 .build/triage.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/triage
	install -m 0644 .build/_triage $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_triage
	install -m 0644 .build/triage.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/triage.fish

clean:
	rm -rf .build incidents

# Regenerates schema/runbook.schema.json from the step catalog and schema/report.schema.json from the report model.
schema: build
	$(BIN_DEBUG) runbooks --schema > schema/runbook.schema.json
	$(BIN_DEBUG) runbooks --report-schema > schema/report.schema.json
