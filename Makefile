# The README's two commands: `make demo` and `make test`; and `make install`.
SWIFT ?= swift
BIN := .build/debug/gadugi
DEMO_ROOT := .build/demo

# `make install` puts these under $(DESTDIR)$(PREFIX); `make install PREFIX=~/.local` needs no root.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(DESTDIR)$(PREFIX)/bin
SHAREDIR := $(DESTDIR)$(PREFIX)/share
RELEASE_BIN := .build/release/gadugi
DIST := .build/dist
MANUAL := .build/plugins/GenerateManual/outputs/gadugi/gadugi.1

.PHONY: all build deps demo test test-slurm bench bench-quick bench-json clean release manual install uninstall

all: build

# libinotifytools ships no pkg-config file; install its Debian package if the header is missing.
deps:
	@if [ ! -e /usr/include/inotifytools/inotifytools.h ]; then \
		echo "Installing libinotifytools0-dev (needed to build gadugi)..."; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libinotifytools0-dev; \
	fi

build: deps
	$(SWIFT) build --product gadugi

# The example prompts through the built-in simulated agent, four at a time, in a throw-away git
# repository of its own (each task leaves a branch gadugi/<id> there, never in this one): live in
# `gadugi watch` on a terminal, as plain progress without one (CI). See examples/demo.sh.
demo: build
	@examples/demo.sh $(BIN) $(DEMO_ROOT)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

# SlurmTests against a real single-node Slurm cluster (Tests/slurm/cluster.sh) in a temporary
# folder: installs Slurm's Debian packages when srun is missing, starts munged (unless one answers),
# slurmctld and slurmd, runs the tests with SLURM_CONF and GADUGI_SLURM=1, and always stops the
# daemons it started. The folder (config, logs) is kept when a test fails.
test-slurm: deps
	@t0=$$(date +%s); \
	SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	if ! command -v srun >/dev/null; then \
		echo "Installing slurmctld slurmd slurm-client munge (needed by make test-slurm)..."; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			slurmctld slurmd slurm-client munge >/dev/null || exit 1; \
	fi; \
	$(SWIFT) build --build-tests || exit 1; \
	dir=$$(mktemp -d "$${TMPDIR:-/tmp}/gadugi-slurm.XXXXXX") || exit 1; \
	trap 'Tests/slurm/cluster.sh stop "$$dir"' EXIT; \
	trap 'exit 130' INT TERM; \
	Tests/slurm/cluster.sh start "$$dir" || exit 1; \
	export SLURM_CONF="$$dir/slurm.conf" GADUGI_SLURM=1; \
	$(SWIFT) test --skip-build --disable-swift-testing --filter 'Slurm(Executor)?Tests'; status=$$?; \
	trap - EXIT; Tests/slurm/cluster.sh stop "$$dir"; \
	if [ $$status = 0 ]; then $$SUDO rm -rf "$$dir"; else echo "cluster config and logs kept in $$dir"; fi; \
	echo "make test-slurm: exit $$status after $$(( $$(date +%s) - t0 )) s"; \
	exit $$status

# Not part of CI: builds a release binary in .build-bench and compares it with xargs, task-spooler,
# GNU parallel and nq (see BENCHMARKS.md). bench-quick is a one-repetition smoke run.
bench: deps
	Benchmarks/run

bench-quick: deps
	Benchmarks/run --quick

# Microseconds per progress.json and events.jsonl line: gadugi's encoder against Foundation's Codable.
bench-json: deps
	$(SWIFT) run -c release --scratch-path .build-bench gadugi-json-bench

# The sources the release files are made from: they are remade only when one is newer, so
# `make release` as yourself and then `sudo make install` builds nothing as root.
SOURCES := Package.swift $(shell find Sources -type f)
COMPLETIONS := $(DIST)/gadugi.bash $(DIST)/_gadugi $(DIST)/gadugi.fish

release: $(RELEASE_BIN) $(DIST)/gadugi.1 $(COMPLETIONS)

# A release binary with the Swift runtime and Foundation linked in (`ldd` lists no libswift*), so it
# runs on a machine without Swift; it still needs libinotifytools.so.0 (libinotifytools0).
# (swift build leaves the file alone when nothing changed: the touch marks it up to date for make.)
$(RELEASE_BIN): $(SOURCES) | deps
	$(SWIFT) build -c release --product gadugi --static-swift-stdlib
	@touch $@

# Completions: ArgumentParser's --generate-completion-script, from the same binary.
$(DIST)/gadugi.bash: $(RELEASE_BIN)
	@mkdir -p $(DIST)
	$(RELEASE_BIN) --generate-completion-script bash > $@
$(DIST)/_gadugi: $(RELEASE_BIN)
	@mkdir -p $(DIST)
	$(RELEASE_BIN) --generate-completion-script zsh > $@
$(DIST)/gadugi.fish: $(RELEASE_BIN)
	@mkdir -p $(DIST)
	$(RELEASE_BIN) --generate-completion-script fish > $@

# The man page, from ArgumentParser's generate-manual plugin (the command definitions themselves).
# It builds the package in debug mode (free after `make build`), so it never touches the release
# binary, and is copied out at once: a later `swift build` empties the plugin's output folder.
# The copy leaves out the hidden verbs (run by gadugi itself, not by people: a top-level
# `.It Em NAME` block is kept only if `gadugi --help` lists NAME) and turns blank lines, which
# mdoc warns about, into paragraph breaks.
manual: $(DIST)/gadugi.1
	@echo "man page: $(DIST)/gadugi.1 (man -l $(DIST)/gadugi.1)"

$(DIST)/gadugi.1: $(SOURCES) | deps
	$(SWIFT) package plugin generate-manual --configuration debug
	@mkdir -p $(DIST)
	@visible="$$($(BIN) --help | awk '/^SUBCOMMANDS:/ { on = 1; next } on && /^  [a-z]/ { print $$1 }') help"; \
	awk -v visible="$$visible" ' \
		BEGIN { n = split(visible, v, " "); for (i = 1; i <= n; i++) keep[v[i]] = 1 } \
		depth == 1 && /^\.It Em / { skip = !($$3 in keep) } \
		depth == 1 && /^\.El/ { skip = 0 } \
		!skip { print ($$0 == "" ? ".Pp" : $$0) } \
		/^\.Bl/ { depth++ } \
		/^\.El/ { depth-- }' $(MANUAL) > $@.tmp && mv $@.tmp $@

install: release
	install -d $(BINDIR) $(SHAREDIR)/man/man1 $(SHAREDIR)/bash-completion/completions \
		$(SHAREDIR)/zsh/site-functions $(SHAREDIR)/fish/vendor_completions.d
	install -m 755 $(RELEASE_BIN) $(BINDIR)/gadugi
	install -m 644 $(DIST)/gadugi.1 $(SHAREDIR)/man/man1/gadugi.1
	install -m 644 $(DIST)/gadugi.bash $(SHAREDIR)/bash-completion/completions/gadugi
	install -m 644 $(DIST)/_gadugi $(SHAREDIR)/zsh/site-functions/_gadugi
	install -m 644 $(DIST)/gadugi.fish $(SHAREDIR)/fish/vendor_completions.d/gadugi.fish
	@echo "installed $(BINDIR)/gadugi (needs libinotifytools.so.0 at run time: apt-get install libinotifytools0)"

uninstall:
	rm -f $(BINDIR)/gadugi $(SHAREDIR)/man/man1/gadugi.1 \
		$(SHAREDIR)/bash-completion/completions/gadugi $(SHAREDIR)/zsh/site-functions/_gadugi \
		$(SHAREDIR)/fish/vendor_completions.d/gadugi.fish

clean:
	rm -rf .build $(DEMO_ROOT)
