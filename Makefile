# scaleguard — build and test entry points. `make demo` and `make test` are the two commands a newcomer runs.
SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-wasip1
POLICIES := $(notdir $(wildcard policies/*))
POLICY_DIR := target/policies

.PHONY: all policies wasm-target cli demo test fmt-check clippy test-native clean

all: policies cli

wasm-target:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)

## policies: build every policy as a small wasm module into target/policies/<policy>.wasm
policies: wasm-target
	$(CARGO) build --release --target $(WASM_TARGET) $(addprefix -p ,$(POLICIES))
	@mkdir -p $(POLICY_DIR)
	@for p in $(POLICIES); do \
		cp target/$(WASM_TARGET)/release/$${p//-/_}.wasm $(POLICY_DIR)/$$p.wasm; \
		printf '%-40s %8d bytes\n' $(POLICY_DIR)/$$p.wasm $$(stat -c %s $(POLICY_DIR)/$$p.wasm); \
	done

## cli: build the scaleguard binary (dev profile: dependencies are optimised, and shared with the tests)
cli:
	$(CARGO) build -p scaleguard

## demo: build everything and show the policies deciding on the guide's sglang-agg objects
demo: policies cli
	@bash examples/demo.sh

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## test: formatting, lints, every native test and every case through the wasm modules under wasmtime
test: fmt-check clippy policies
	$(CARGO) nextest run --workspace --no-fail-fast
	$(CARGO) test --workspace --doc

clean:
	$(CARGO) clean
