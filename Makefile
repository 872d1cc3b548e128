# Targets call the same commands as scripts/test (the one test command).
.PHONY: test build lint

test: ## gofmt check, go vet, and every test (throwaway PostgreSQL included)
	./scripts/test

build: ## build the pipe binary into bin/pipe
	go build -o bin/pipe ./cmd/pipe

lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*')); \
	if [ -n "$$out" ]; then echo "not gofmt-formatted (run gofmt -w):"; echo "$$out"; exit 1; fi
	go vet ./...
