# ce: build, test, install. `make` builds the binaries into ./bin.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(DESTDIR)$(PREFIX)/bin
MANDIR   = $(DESTDIR)$(PREFIX)/share/man
BASHDIR  = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR   = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR  = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

GO      ?= go
BIN     ?= bin
VERSION ?= 0.1.0
LDFLAGS  = -s -w -X github.com/ce-platform/ce/pkg/cli/clikit.Version=$(VERSION)
CMDS     = ce ce-session ce-queue ce-mcp ce-bridge ce-vault ce-memory ce-cron ce-heartbeat

# The Debian package: built into DIST with nfpm from the module proxy (not a
# dependency of ce). SOURCE_DATE_EPOCH (2026-11-24, with docs.Date) makes
# the same tree give the same .deb; bump it with a release.
DIST     ?= $(CURDIR)/dist
DEB_ARCH ?= $(shell $(GO) env GOARCH)
NFPM      = github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
SOURCE_DATE_EPOCH ?= 1795478400

.PHONY: build test install deb man completions docs demo bench lint clean

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

# The tests install the pinned claude from npm into a cache dir once
# (CE_CLAUDE_CACHE, default ~/.cache/ce-test) and run it against ce's fake
# Anthropic API on loopback, with real tmux.
test: build
	$(GO) test -count=1 -timeout 20m ./...

man completions docs:
	$(GO) run ./internal/gendocs -root .

install: build
	install -d $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man7 $(BASHDIR) $(ZSHDIR) $(FISHDIR)
	install -m 0755 $(addprefix $(BIN)/,$(CMDS)) $(BINDIR)/
	install -m 0644 man/*.1 $(MANDIR)/man1/
	install -m 0644 man/*.5 $(MANDIR)/man5/
	install -m 0644 man/*.7 $(MANDIR)/man7/
	for c in $(CMDS); do \
		install -m 0644 completions/$$c.bash $(BASHDIR)/$$c; \
		install -m 0644 completions/_$$c $(ZSHDIR)/_$$c; \
		install -m 0644 completions/$$c.fish $(FISHDIR)/$$c.fish; \
	done

# make install into a staging tree (with its own BIN, so that it never
# races another build of ./bin), plus the systemd units, the sysusers
# file and the example config, packaged by nfpm (contrib/nfpm.yaml).
deb:
	rm -rf $(DIST)/deb-root
	$(MAKE) install DESTDIR=$(DIST)/deb-root PREFIX=/usr BIN=$(DIST)/bin
	install -d $(DIST)/deb-root/usr/lib/systemd/user $(DIST)/deb-root/usr/lib/systemd/system \
		$(DIST)/deb-root/usr/lib/sysusers.d $(DIST)/deb-root/usr/share/doc/ce $(DIST)/deb-root/etc/ce
	install -m 0644 contrib/systemd/*.service contrib/systemd/*.timer $(DIST)/deb-root/usr/lib/systemd/user/
	install -m 0644 contrib/systemd/system/ce.service $(DIST)/deb-root/usr/lib/systemd/system/
	install -m 0644 contrib/sysusers.d/ce.conf $(DIST)/deb-root/usr/lib/sysusers.d/
	install -m 0644 config.example.yaml $(DIST)/deb-root/usr/share/doc/ce/
	install -m 0644 config.example.yaml $(DIST)/deb-root/etc/ce/config.yaml.example
	install -m 0755 contrib/deb/postinst $(DIST)/deb-root/postinst
	find $(DIST)/deb-root -exec touch -h -d @$(SOURCE_DATE_EPOCH) {} +
	cd $(DIST)/deb-root && VERSION=$(VERSION) DEB_ARCH=$(DEB_ARCH) \
		SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) GOFLAGS=-mod=mod \
		$(GO) run $(NFPM) pkg --packager deb --config $(CURDIR)/contrib/nfpm.yaml --target $(DIST)/
	rm -rf $(DIST)/deb-root $(DIST)/bin

# The platform end to end, offline: the real claude against the built-in
# fake Anthropic API, in a throwaway state directory.
demo: build
	$(GO) run ./internal/demo

bench: build
	$(GO) run ./internal/benchtable

# staticcheck is pinned and run from the module proxy, not a dependency of ce.
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@out=$$(gofmt -l cmd pkg internal contrib); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin dist
