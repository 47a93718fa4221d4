# The two commands of the README: `make run` and `make test`. Both bring
# up the dev services first (scripts/dev-services: PostgreSQL, Redis and a
# Vault with persistent storage, installed or built when missing). CI
# (.ci/run) runs `make lint test`.
SHELL := /bin/bash
GO    ?= go
ENV   := eval "$$(scripts/dev-services env)"

.PHONY: all build services run test vet lint fuzz bench-provision bench-migrate bench-router bench-idle bench-domain bench-backup bench-console bench-tls bench-import clean

all: build

build:
	$(GO) build -o bin/platform ./cmd/platform

services:
	scripts/dev-services up

run: services build
	$(ENV) && scripts/run-demo

vet:
	$(GO) vet ./...

# staticcheck is pinned as a tool in go.mod (`go tool staticcheck`).
lint: vet
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

# Every test with the race detector, in random order (-shuffle=on prints
# the seed: reproduce with -shuffle=SEED), the fuzz targets' seed corpora
# included; then the dev-services restart test on ports of its own.
test: services vet
	$(ENV) && $(GO) test -race -shuffle=on -count=1 -timeout 20m ./...
	scripts/test-dev-restart

# Each Fuzz* target for FUZZTIME (default 30s), one at a time.
FUZZTIME ?= 30s
fuzz: services
	$(ENV) && FUZZTIME=$(FUZZTIME) scripts/fuzz

# Figures for docs/BENCHMARKS.md (not part of `make test`).
bench-provision: services build
	$(ENV) && scripts/bench/provision

bench-migrate: services build
	$(ENV) && scripts/bench/fleet-migrate

bench-router: services build
	$(ENV) && scripts/bench/router

bench-idle: services build
	$(ENV) && scripts/bench/idle

bench-domain: services build
	$(ENV) && scripts/bench/domain

bench-console: services build
	$(ENV) && scripts/bench/console

# A million generated rows imported from SQLite vs a bare COPY of them;
# bcrypt of plaintext passwords at cost 12 apart (docs/BENCHMARKS.md).
bench-import: services
	$(ENV) && go test ./platform/importer/ -run '^$$' -bench 'BenchmarkImport' -benchtime 3x -timeout 30m

bench-backup: services build
	$(ENV) && scripts/bench/backup

# The container image built from ./Dockerfile with podman (installed when
# missing) and run against the dev services: a tenant served, a backup
# made and verified from inside it (scripts/image-test; not part of
# `make test`: a first run makes base images and builds for minutes).
.PHONY: image-test
image-test: services
	$(ENV) && scripts/image-test

bench-tls: services build
	$(ENV) && scripts/bench/tls

clean:
	rm -rf bin

# PNGs of the main screens of the tenant and operator consoles, in Spanish and
# English (desktop; some on a phone), into docs/screenshots/ (commit them).
.PHONY: screenshots
screenshots: services
	$(ENV) && $(GO) test -count=1 -run 'Screenshots$$' ./tenant/console/ ./platform/opconsole/ -args -screenshots $(CURDIR)/docs/screenshots
