# Thin wrapper over CMake: `make demo` and `make check` do all the set-up.
BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= $(shell nproc)
DEMO_DATA  ?= /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

.PHONY: all deps build build-san demo check test test-san clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-san: deps
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_SAN) -j $(JOBS)

demo: build
	$(BUILD)/nnheat costs examples/fashion_mnist/model.onnx -i $(DEMO_DATA) --scale 1/255

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-san: build-san
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)

check: test test-san

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
