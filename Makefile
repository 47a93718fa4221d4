# The two commands of the README: `make run` and `make test`. Both bring
# up the dev services first (scripts/dev-services: PostgreSQL, Redis and a
# Vault dev server, installed or built when missing).
SHELL := /bin/bash
GO    ?= go
ENV   := eval "$$(scripts/dev-services env)"

.PHONY: all build services run test vet lint bench-provision bench-migrate bench-router clean

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

test: services vet
	$(ENV) && $(GO) test -count=1 -timeout 20m ./...

# Figures for docs/BENCHMARKS.md (not part of `make test`).
bench-provision: services build
	$(ENV) && scripts/bench/provision

bench-migrate: services build
	$(ENV) && scripts/bench/fleet-migrate

bench-router: services build
	$(ENV) && scripts/bench/router

clean:
	rm -rf bin
