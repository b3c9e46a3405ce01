# Thin wrapper over CMake: the README's two commands and a few more.
#   make demo   build, then run the demo on 127.0.0.1
#   make test   build with warnings as errors, run every test, then again
#               under AddressSanitizer + UndefinedBehaviorSanitizer
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
FUZZ_SECONDS ?= 60

.PHONY: all deps build test test-plain test-asan demo fuzz clean format valgrind

all: build

deps:
	@scripts/deps.sh build

build: deps
	cmake -S . -B $(BUILD) -DWERROR=ON
	cmake --build $(BUILD) -j $(JOBS)

test-plain: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(BUILD)-asan -DWERROR=ON -DENABLE_ASAN=ON -DENABLE_UBSAN=ON \
	      -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS)

test: test-plain test-asan

demo: build
	scripts/demo.sh $(BUILD)

fuzz:
	@scripts/deps.sh fuzz
	CC=clang cmake -S . -B $(BUILD)-fuzz -DENABLE_FUZZ=ON -DENABLE_ASAN=ON \
	      -DENABLE_UBSAN=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(BUILD)-fuzz -j $(JOBS)
	scripts/fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz

# make bench [QUICK=1]: release build in build-bench, then bench/bench.sh
# measures the relay and writes bench/BENCHMARKS.md (see bench/bench.sh).
.PHONY: bench
bench: deps
	@scripts/deps.sh bench
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
	cmake --build build-bench -j $(JOBS)
	QUICK=$(QUICK) bench/bench.sh build-bench

# Every unit test under valgrind memcheck: no error and no leak allowed.
valgrind: build
	@command -v valgrind >/dev/null || { echo "valgrind: apt-get install valgrind"; exit 1; }
	@fail=0; for t in $(BUILD)/tests/test_unit_*; do \
	    case $$t in *.valgrind) continue ;; esac; [ -x $$t ] || continue; \
	    if valgrind -q --error-exitcode=9 --leak-check=full \
	        --errors-for-leak-kinds=definite,indirect $$t >$$t.valgrind 2>&1; then \
	        echo "valgrind: $$(basename $$t): clean"; \
	    else echo "valgrind: $$(basename $$t): ERRORS (see $$t.valgrind)"; fail=1; fi; \
	done; exit $$fail

# The long chaos runs (tests/chaos): CYCLES kills of the relay under traffic.
CYCLES ?= 200
.PHONY: chaos
chaos: build
	bash tests/chaos/kill9.sh $(BUILD) $(CYCLES) relay
	bash tests/chaos/kill9.sh $(BUILD) $(CYCLES) sender
	bash tests/chaos/kill9.sh $(BUILD) $(CYCLES) receiver

# The long hostile-client campaign (tests/chaos/hostile.sh): every attack
# kind at once for SECONDS while two honest nodes exchange notices; the
# table and JSON line go to stdout (CI runs 20 s as chaos.hostile).
SECONDS ?= 300
.PHONY: hostile
hostile: build
	bash tests/chaos/hostile.sh $(BUILD) $(SECONDS)

# Stalled handshakes that use up the relay's descriptors, at a common
# `ulimit -n` and the default --handshake-ms (tests/hostile/fd_exhaust.sh;
# CI runs 10 s at 256 descriptors as chaos.hostile_fds).
.PHONY: hostile-fds
hostile-fds: build
	bash tests/hostile/fd_exhaust.sh $(BUILD) 30 1024 5000

# The relay unreachable for minutes (tests/chaos/outage.sh; CI runs 25 s).
OUTAGE_SECONDS ?= 180
.PHONY: outage
outage: build
	bash tests/chaos/outage.sh $(BUILD) $(OUTAGE_SECONDS)
