# scaleguard — build and test entry points. `make demo` and `make test` are the two commands a newcomer runs.
SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-wasip1
POLICIES := $(notdir $(wildcard policies/*))
POLICY_DIR := target/policies

.PHONY: all policies wasm-target cli demo test fmt-check clippy test-native clean release-cli bench-gitops \
	artifacthub release-artifacts release registry-test

all: policies cli

wasm-target:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)

## policies: build every policy as a small wasm module, annotated with its metadata.yml and README
## (`scaleguard annotate`, as `kwctl annotate`), into target/policies/<policy>.wasm
policies: wasm-target cli
	$(CARGO) build --release --target $(WASM_TARGET) $(addprefix -p ,$(POLICIES))
	@mkdir -p $(POLICY_DIR)
	@for p in $(POLICIES); do \
		target/debug/scaleguard annotate target/$(WASM_TARGET)/release/$${p//-/_}.wasm \
			--metadata-path policies/$$p/metadata.yml --usage-path policies/$$p/README.md \
			--output-path $(POLICY_DIR)/$$p.wasm > /dev/null || exit 1; \
		printf '%-40s %8d bytes\n' $(POLICY_DIR)/$$p.wasm $$(stat -c %s $(POLICY_DIR)/$$p.wasm); \
	done

## release-artifacts: the annotated modules plus target/policies/sha256sums
release-artifacts: policies
	cd $(POLICY_DIR) && sha256sum $(addsuffix .wasm,$(POLICIES)) > sha256sums
	@cat $(POLICY_DIR)/sha256sums

## artifacthub: regenerate artifacthub/<policy>/artifacthub-pkg.yml from the policies (a test checks for drift)
artifacthub: cli
	target/debug/scaleguard artifacthub $(addprefix policies/,$(POLICIES))

## release: POLICY=<policy> [REGISTRY=ghcr.io/scaleguard/policies]: check versions, annotate, push, artifacthub
release:
	@test -n "$(POLICY)" || { echo "usage: make release POLICY=<policy> [REGISTRY=<registry>/<path>]"; exit 2; }
	bash scripts/release.sh $(POLICY) $(REGISTRY)

## registry-test: push and pull every policy through a real OCI registry on a loopback port
registry-test: policies
	bash scripts/registry-test.sh

## cli: build the scaleguard binary (dev profile: dependencies are optimised, and shared with the tests)
cli:
	$(CARGO) build -p scaleguard

## demo: build everything and show the policies deciding on the guide's sglang-agg objects
demo: policies cli
	@bash examples/demo.sh

## release-cli: the native scaleguard binary with the policy modules built in (profile release-cli)
release-cli: policies
	$(CARGO) build --profile release-cli -p scaleguard --features embedded-policies
	@ls -l target/release-cli/scaleguard

## bench-gitops: scaleguard check over 10,000 generated manifests, beside one process per request
bench-gitops: policies release-cli
	SCALEGUARD_BIN=target/release-cli/scaleguard $(CARGO) bench --profile release-cli -p scaleguard-check --features wasmtime --bench gitops

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## test: formatting, lints, every native test and every case through the wasm modules under wasmtime
test: fmt-check clippy policies
	$(CARGO) nextest run --workspace --no-fail-fast
	$(CARGO) test --workspace --doc
	bash scripts/registry-test.sh

clean:
	$(CARGO) clean
