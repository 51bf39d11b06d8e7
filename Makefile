# scaleguard — build and test entry points. `make demo` and `make test` are the two commands a newcomer runs,
# after `make deps`. Only `make deps` installs anything: every other target checks what it needs and, when
# something is missing, stops with one line (`missing: wasm-opt — run: make deps (or: apt-get install binaryen)`).
SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-wasip1
POLICIES := $(notdir $(wildcard policies/*))
POLICY_DIR := target/policies

# Fails with one line naming the first of its arguments that is missing (scripts/deps.sh has the table).
REQUIRE := bash scripts/deps.sh check

# Clippy run by the build itself, with -D warnings: its driver wraps rustc for the workspace's crates, the way
# `cargo clippy` sets it up (RUSTC_WORKSPACE_WRAPPER, CLIPPY_ARGS), but while they compile for real. The
# wrapper only touches the workspace's crates, so every dependency is compiled once for the lints, the CLI
# and the tests alike, where `cargo clippy` would compile each a second time, to metadata.
LINTED := RUSTC_WORKSPACE_WRAPPER=$(shell rustc --print sysroot 2>/dev/null)/bin/clippy-driver \
	CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

.PHONY: all deps deps-check policies policies-deps build cli demo test fmt-check clippy clean release-cli bench-gitops bench-memory \
	artifacthub release-artifacts release registry-test playground playground-test fuzz fuzz-build fuzz-deps bench-check

all: policies cli

## deps: install what is missing, the one target that installs: Debian packages (binaryen, docker-registry,
## chromium, chromium-driver, nodejs, npm, python3; apt-get, through sudo when not root), the rustup targets
## wasm32-wasip1 and wasm32-unknown-unknown, rustfmt and clippy, and from crates.io cargo-nextest and
## wasm-bindgen-cli at the version Cargo.toml pins. scripts/deps.sh holds the table.
deps:
	bash scripts/deps.sh install

## fuzz-deps: cargo-fuzz, for make fuzz and make fuzz-build (the nightly toolchain is rustup's to install)
fuzz-deps:
	bash scripts/deps.sh install cargo-fuzz

## deps-check: fail at once, in one line, when something `make test` needs is missing
deps-check:
	@$(REQUIRE) component:rustfmt component:clippy target:$(WASM_TARGET) target:wasm32-unknown-unknown \
		wasm-opt cargo-nextest docker-registry wasm-bindgen chromium chromedriver node npm python3

## policies: build every policy as a small wasm module, annotated with its metadata.yml and README
## (`scaleguard annotate`, as `kwctl annotate`), into target/policies/<policy>.wasm
policies: policies-deps cli
	@mkdir -p $(POLICY_DIR)
	@# One cargo run per policy: features unify across the packages of one run, and only the policy that
	@# writes objects back wants serde_json's float_roundtrip (about 18 KB of each module).
	@for p in $(POLICIES); do \
		$(LINTED) $(CARGO) build --release --target $(WASM_TARGET) -p $$p || exit 1; \
		wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
			--enable-nontrapping-float-to-int target/$(WASM_TARGET)/release/$${p//-/_}.wasm \
			-o target/$(WASM_TARGET)/release/$${p//-/_}.opt.wasm || exit 1; \
		target/debug/scaleguard annotate target/$(WASM_TARGET)/release/$${p//-/_}.opt.wasm \
			--metadata-path policies/$$p/metadata.yml --usage-path policies/$$p/README.md \
			--output-path $(POLICY_DIR)/$$p.wasm > /dev/null || exit 1; \
		printf '%-40s %8d bytes\n' $(POLICY_DIR)/$$p.wasm $$(stat -c %s $(POLICY_DIR)/$$p.wasm); \
	done

policies-deps:
	@$(REQUIRE) target:$(WASM_TARGET) wasm-opt

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

## playground: the browser playground (wasm32-unknown-unknown + wasm-bindgen, wasm-opt -Oz when binaryen is
## installed) as a static site in target/playground/; needs the target and wasm-bindgen-cli (`make deps`)
playground:
	bash scripts/playground-build.sh

## playground-test: builds the playground, then its wasm tests in headless Chromium and the end-to-end test
## of the page (needs chromium, chromium-driver, nodejs, npm and binaryen: `make deps`)
playground-test:
	bash scripts/playground-test.sh

## build: every crate and target of the workspace (dev profile; dependencies optimised), linted by clippy as
## it compiles (LINTED). One build serves the lints, the CLI and the tests: `cargo build -p scaleguard` would
## unify other features (the tests' dev-dependencies add some) and compile much of it again
build:
	@$(REQUIRE) component:clippy
	$(LINTED) $(CARGO) build --workspace --all-targets

## cli: the scaleguard binary, target/debug/scaleguard (by `make build`)
cli: build

## demo: build everything and show the policies deciding on the guide's sglang-agg objects
demo: policies cli
	@bash examples/demo.sh

## release-cli: the native scaleguard binary with the policy modules built in (profile native-release)
release-cli: policies
	$(CARGO) build --profile native-release -p scaleguard --features embedded-policies
	@ls -l target/native-release/scaleguard

## bench-gitops: scaleguard check over 10,000 and 20,000 generated manifests, beside one process per request;
## fails under 5,000 manifests/s (2 threads) or when 20,000 take more than 2.2x the time of 10,000
bench-gitops: policies release-cli
	SCALEGUARD_BIN=$(CURDIR)/target/native-release/scaleguard $(CARGO) bench --profile native-release -p scaleguard-check --features wasmtime --bench gitops

## bench-memory: the peak resident memory of scaleguard check over 10,000 and 100,000 generated manifests
## (100 and 1,000 namespaces) and one 50 MB YAML file; fails when it grows with the namespaces or passes three
## copies of the file
## (the bench itself only writes files and samples the binary: it builds in the dev profile, from `make build`)
bench-memory: policies release-cli
	SCALEGUARD_BIN=$(CURDIR)/target/native-release/scaleguard $(LINTED) $(CARGO) bench --workspace --profile dev --bench memory

## bench-check: every module's compile, instantiate and validate times under wasmtime (field masks honoured
## and ignored) beside the native call (profile native-release), written to target/bench/policies.json; fails
## when a budget is exceeded: module under 450,000 bytes (dynamo-adapter-target: 1,500,000), wasm median at
## most 2.5x native, at most 2 ms for a look-up on 500 autoscalers, 25/250 µs for the replica-ownership DGD
## edits, one host call per kind
bench-check: policies
	$(CARGO) bench --profile native-release -p scaleguard-tests --bench policies

## fuzz: seed fuzz/corpus/ from the case tables, then run every libFuzzer target of fuzz/ for FUZZ_SECONDS
## each, or for FUZZ_RUNS executions each when set (nightly with the address sanitizer where installed, else
## stable without one); a crash stops the run with its input in fuzz/artifacts/<target>/ (copy it to
## fuzz/regressions/<target>/, replayed by make test)
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_LIMIT := $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))
FUZZ_CARGO := $(if $(shell rustup toolchain list 2>/dev/null | grep ^nightly),cargo +nightly fuzz,cargo fuzz)
FUZZ_FLAGS := $(if $(shell rustup toolchain list 2>/dev/null | grep ^nightly),,--sanitizer none)
fuzz: fuzz-build
	python3 fuzz/seed_corpus.py
	cd fuzz && for t in $$($(FUZZ_CARGO) list); do \
		$(FUZZ_CARGO) run $(FUZZ_FLAGS) $$t corpus/$$t -- $(FUZZ_LIMIT) -rss_limit_mb=2048 \
			-print_final_stats=1 || exit 1; \
	done

## fuzz-build: build every libFuzzer target of fuzz/ (its own workspace) as `make fuzz` builds them, without
## running them: the targets drive the policies' entry logic, so an API change that breaks them shows here
fuzz-build:
	@$(REQUIRE) cargo-fuzz
	cd fuzz && $(FUZZ_CARGO) build $(FUZZ_FLAGS)

## fmt-check: rustfmt over the workspace, changing nothing
fmt-check:
	@$(REQUIRE) component:rustfmt
	$(CARGO) fmt --all -- --check

## clippy: `cargo clippy` with -D warnings on the host (every crate and target), then on the targets the host
## build never compiles: the policies on wasm32-wasip1 (the sdk's waPC glue, `wapc_init`, host calls) and the
## playground on wasm32-unknown-unknown (its browser code and wasm-bindgen tests). `make test` gets the same
## lints from its builds (LINTED) instead, without compiling the dependencies a second time
clippy:
	@$(REQUIRE) component:clippy target:$(WASM_TARGET) target:wasm32-unknown-unknown
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --target $(WASM_TARGET) --all-targets $(addprefix -p ,$(POLICIES)) -- -D warnings
	$(CARGO) clippy --target wasm32-unknown-unknown --all-targets -p scaleguard-playground -- -D warnings

## test: formatting, lints (every host crate and target, the policies on wasm32-wasip1, the playground on
## wasm32-unknown-unknown, all through LINTED builds), every native test, every case through the wasm modules
## under wasmtime, the registry round trip and the playground in headless Chromium, all from the one host
## build of `make build`. Installs nothing: it stops first, in one line, when something `make deps` installs
## is missing
test: deps-check fmt-check build policies
	$(LINTED) $(CARGO) nextest run --workspace --no-fail-fast
	$(LINTED) $(CARGO) test --workspace --doc
	$(LINTED) bash scripts/registry-test.sh
	$(LINTED) bash scripts/playground-test.sh

clean:
	$(CARGO) clean
