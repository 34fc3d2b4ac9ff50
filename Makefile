# ferry: the two commands of the README, and their parts.
#   make run   installs what is missing, builds, serves examples/models on 127.0.0.1:8000
#   make test  installs what is missing, builds, runs every test (ctest)
BUILD_DIR  ?= build
BUILD_TYPE ?= Release
HTTP_PORT  ?= 8000

.PHONY: all deps build run test test-sanitizers fuzz image test-image bench clean

all: build

deps:
	@scripts/install-deps.sh > $(BUILD_DIR).onnxruntime-root

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DONNXRUNTIME_ROOT="$$(tail -n 1 $(BUILD_DIR).onnxruntime-root)" > /dev/null
	@cmake --build $(BUILD_DIR)

run: build
	@echo "ferry: serving examples/models on http://127.0.0.1:$(HTTP_PORT) (Ctrl-C stops). Try, in another terminal:"
	@echo "  curl -s -X POST http://127.0.0.1:$(HTTP_PORT)/v2/models/pima/infer -H 'Content-Type: application/json' \\"
	@echo "    -d '{\"inputs\":[{\"name\":\"features\",\"shape\":[1,8],\"datatype\":\"FP32\",\"data\":[6,148,72,35,0,33.6,0.627,50]}]}'"
	@echo "or open the dashboard: http://127.0.0.1:$(HTTP_PORT)/"
	@exec $(BUILD_DIR)/ferry serve --model-repository examples/models --http-host 127.0.0.1 --http-port $(HTTP_PORT)

# Tests run two at a time (each binds its own free ports); CTEST_JOBS=1 runs them one by one.
CTEST_JOBS ?= 2
test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j$(CTEST_JOBS)

# The whole test suite again, built with AddressSanitizer, UndefinedBehaviorSanitizer and
# LeakSanitizer (in $(BUILD_DIR)-sanitizers). CI runs it beside `make test`. Left out there: the
# TorchScript backend (a thin adapter over an uninstrumented libtorch, slow to compile), bench/'s
# programs, and the deploy.* and ui.* tests (node checking manifests and driving Chromium: the
# ferry they start serves what the integration suites already cover under the sanitizers).
# intercept_tls_get_addr=0: GCC 12's runtime takes a thread-local block of a dlopen'd library (the
# gRPC module, the backend plugins) that starts 16 bytes into a page for a glibc 2.19 header and
# its leak check at exit dies on the range it reads there ("Tracer caught signal 11"); without the
# interception those blocks are still scanned, found through glibc's thread descriptor
# (tests/sanitizers/dynamic_tls_exit.cc fails if the option goes).
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
test-sanitizers: deps
	@cmake -S . -B $(BUILD_DIR)-sanitizers -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_CXX_FLAGS_RELEASE="-O1 $(SANITIZE)" -DCMAKE_EXE_LINKER_FLAGS="$(SANITIZE)" \
	  -DCMAKE_MODULE_LINKER_FLAGS="$(SANITIZE)" -DCMAKE_SHARED_LINKER_FLAGS="$(SANITIZE)" -DFERRY_WITH_TORCH=OFF -DFERRY_BUILD_BENCH=OFF \
	  -DFERRY_WITH_JEMALLOC=OFF -DONNXRUNTIME_ROOT="$$(tail -n 1 $(BUILD_DIR).onnxruntime-root)" > /dev/null
	@cmake --build $(BUILD_DIR)-sanitizers
	@cd $(BUILD_DIR)-sanitizers && FERRY_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:intercept_tls_get_addr=0 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure --timeout 900 -j$(CTEST_JOBS) -E '^(deploy|ui)\.'

# Each fuzz target (tests/fuzz) under libFuzzer with ASan + UBSan for FUZZ_SECONDS, built with
# clang 19 in $(BUILD_DIR)-fuzz, starting from the seed corpus in tests/fuzz/corpus (new inputs
# go to $(BUILD_DIR)-fuzz/corpus, crashes to $(BUILD_DIR)-fuzz/crashes). CI runs it briefly.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_v2_json fuzz_v2_binary fuzz_grpc_request fuzz_model_config fuzz_pipeline_config fuzz_predict fuzz_stream_config fuzz_model_package fuzz_pmml fuzz_router_config fuzz_routing_json fuzz_http_coding fuzz_worker_protocol fuzz_mqtt_packet fuzz_event_codec
fuzz:
	@scripts/install-deps.sh --fuzz > /dev/null
	@CC=clang-19 CXX=clang++-19 cmake -S . -B $(BUILD_DIR)-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" -DFERRY_FUZZ=ON -DFERRY_BUILD_TESTS=OFF \
	  -DFERRY_WITH_ONNXRUNTIME=OFF -DFERRY_WITH_TORCH=OFF -DFERRY_WITH_PYTHON=OFF -DFERRY_BUILD_BENCH=OFF \
	  -DFERRY_WITH_JEMALLOC=OFF > /dev/null
	@cmake --build $(BUILD_DIR)-fuzz --target fuzz_targets
	@tests/fuzz/run.sh $(BUILD_DIR)-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The container image ferry:<version>-$(IMAGE_VARIANT) (cpu, python or full; deploy/image), written
# as an OCI archive to $(BUILD_DIR)/ferry-<version>-$(IMAGE_VARIANT).oci.tar; needs root (debootstrap,
# chroot). `make test-image` builds it and checks it with chroot (tests/image): CI runs it.
IMAGE_VARIANT ?= cpu
image: build
	@scripts/install-deps.sh --image > /dev/null
	@BUILD_DIR=$(BUILD_DIR) deploy/image/build.sh $(IMAGE_VARIANT)

test-image: image
	@cd tests/image && FERRY_BIN=$(CURDIR)/$(BUILD_DIR)/ferry FERRY_IMAGE_VARIANT=$(IMAGE_VARIANT) \
	  timeout 900 /usr/bin/python3 -m unittest -v test_image

bench: build
	@scripts/install-deps.sh --bench > /dev/null
	@bench/http_infer.sh
	@bench/embed.sh
	@bench/protocols.sh
	@bench/batching.sh
	@bench/baselines.sh
	@bench/reload.sh
	@bench/tls.sh
	@bench/pipeline.sh
	@bench/streaming.sh
	@bench/pmml.sh
	@bench/backends.sh
	@bench/python.sh
	@bench/soak.sh

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR)-sanitizers $(BUILD_DIR)-fuzz $(BUILD_DIR).onnxruntime-root
