# The README's two commands: `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/gadugi
DEMO_ROOT := .build/demo

.PHONY: all build deps demo test bench bench-quick clean

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

# Push the example prompts through the built-in simulated agent, four at a time, then show the spool.
# The demo root is a small git repository of its own: each task works in its own worktree and
# leaves a branch gadugi/<id> there (never in this repository).
demo: build
	@rm -rf $(DEMO_ROOT) && mkdir -p $(DEMO_ROOT)
	@git -C $(DEMO_ROOT) init -q && printf '# demo project\n' > $(DEMO_ROOT)/README.md && git -C $(DEMO_ROOT) add README.md \
		&& git -C $(DEMO_ROOT) -c user.name=gadugi-demo -c user.email=demo@gadugi.invalid commit -qm "demo project"
	$(BIN) plan --root $(DEMO_ROOT) examples/prompts/*
	@echo
	@# examples/prompts/flaky-test.md fails on purpose (its line `simulate: fail`), so `gadugi run` exits 1.
	@# Accept exactly that: exit 1 with flaky-test the only failed task; anything else fails the demo.
	$(BIN) run --root $(DEMO_ROOT) --agent gadugi:simulate --max-parallel 4 examples/prompts/* \
		|| { test $$? -eq 1 && test "$$(ls $(DEMO_ROOT)/.gadugi/queue/failed)" = flaky-test.md; }
	@echo
	$(BIN) status --root $(DEMO_ROOT) --all
	@echo
	git -C $(DEMO_ROOT) log --oneline --graph --all | head -30
	@echo
	@echo "The spool is in $(DEMO_ROOT)/.gadugi; try: cat $(DEMO_ROOT)/.gadugi/monitoring/tasks/fix-login/progress.json"

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --disable-swift-testing

# Not part of CI: builds a release binary in .build-bench and compares it with xargs, task-spooler,
# GNU parallel and nq (see BENCHMARKS.md). bench-quick is a one-repetition smoke run.
bench: deps
	Benchmarks/run

bench-quick: deps
	Benchmarks/run --quick

clean:
	rm -rf .build $(DEMO_ROOT)
