# ce: build, test, install. `make` builds the binaries into ./bin.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(DESTDIR)$(PREFIX)/bin
MANDIR   = $(DESTDIR)$(PREFIX)/share/man
BASHDIR  = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR   = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR  = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

GO      ?= go
VERSION ?= 0.1.0
LDFLAGS  = -s -w -X github.com/ce-platform/ce/pkg/cli/clikit.Version=$(VERSION)
CMDS     = ce ce-session ce-queue ce-mcp ce-bridge ce-vault ce-memory ce-cron ce-heartbeat

.PHONY: build test install man completions docs demo bench lint clean

build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./cmd/,$(CMDS))

# The tests install the pinned claude from npm into a cache dir once
# (CE_CLAUDE_CACHE, default ~/.cache/ce-test) and run it against ce's fake
# Anthropic API on loopback, with real tmux.
test: build
	$(GO) test -count=1 -timeout 20m ./...

man completions docs:
	$(GO) run ./internal/gendocs -root .

install: build
	install -d $(BINDIR) $(MANDIR)/man1 $(BASHDIR) $(ZSHDIR) $(FISHDIR)
	install -m 0755 $(addprefix bin/,$(CMDS)) $(BINDIR)/
	install -m 0644 man/*.1 $(MANDIR)/man1/
	for c in $(CMDS); do \
		install -m 0644 completions/$$c.bash $(BASHDIR)/$$c; \
		install -m 0644 completions/_$$c $(ZSHDIR)/_$$c; \
		install -m 0644 completions/$$c.fish $(FISHDIR)/$$c.fish; \
	done

# The platform end to end, offline: the real claude against the built-in
# fake Anthropic API, in a throwaway state directory.
demo: build
	$(GO) run ./internal/demo

bench: build
	$(GO) run ./internal/benchtable

lint:
	@out=$$(gofmt -l cmd pkg internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin dist
