# zhuyi build. `make` builds the library (static + shared) and the CLI; `make test`,
# `make sanitize`, `make bench` install what they need first (scripts/deps.sh);
# `make install` / `make uninstall` honour PREFIX and DESTDIR (see `make help`).
# Sources are found by wildcard: a new file under src/<layer>/ is built without edits here.
# Files named *_avx512.c / *_avx2.c / *_avx512bf16.c / *_amx.c / *_avx512vnni.c /
# *_avxvnni.c are compiled for that instruction set only; the code that calls them checks
# the CPU at run time, so one binary runs on any x86-64.
# The shared library exports the public API only (src/exports.map: zy_ but not zy__);
# the tests and the CLI link the static library and may use internals.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O3
SAN     ?=

# Installation (GNU conventions): files go to $(DESTDIR)$(PREFIX)/...; zhuyi.pc names
# $(PREFIX) itself, so a staged DESTDIR install is correct once moved into place.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL    ?= install

WARN     = -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
# -fno-semantic-interposition: calls between library functions need not go through the
# PLT (nobody may replace a zy_ function in libzhuyi.so by preloading another).
CFLAGS   = -std=c11 $(OPT) -g $(WARN) -fPIC -fno-semantic-interposition -fno-math-errno \
           -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -pthread $(SAN) $(EXTRA_CFLAGS)
LDLIBS   = -lcjson -lutf8proc -lcsv -lpng -lz -lsndfile -lsamplerate -lfftw3 -lm -pthread
# What a static link of libzhuyi.a needs besides cjson, utf8proc, libpng, zlib,
# libsamplerate and fftw3 (zhuyi.pc Libs.private; libcsv has no pkg-config file, so it is
# named here; libsndfile has one, but Debian's sndfile.pc lists the codec libraries of its
# own static build (mp3lame, FLAC, vorbis, opus, mpg123) whose -dev packages
# libsndfile1-dev does not install, so naming it in Requires.private would make
# `pkg-config --static zhuyi` name libraries that are not there).
PC_LIBS_PRIVATE = -lcsv -lsndfile -lm -pthread
LDFLAGS  = $(SAN)

# The version is include/zhuyi/core.h's ZY_VERSION_*: the shared library is
# libzhuyi.so.MAJOR.MINOR.PATCH with soname libzhuyi.so.MAJOR (links libzhuyi.so.MAJOR and
# libzhuyi.so beside it, in the build directory as when installed).
zy_version_part = $(shell sed -n 's/^\#define ZY_VERSION_$(1) *\([0-9][0-9]*\).*/\1/p' include/zhuyi/core.h)
VERSION_MAJOR := $(call zy_version_part,MAJOR)
VERSION := $(VERSION_MAJOR).$(call zy_version_part,MINOR).$(call zy_version_part,PATCH)
SONAME  := libzhuyi.so.$(VERSION_MAJOR)
SOFILE  := libzhuyi.so.$(VERSION)
SO_LDFLAGS = -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/exports.map \
             $(if $(SAN),,-Wl,--no-undefined)

AVX512_FLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mf16c
AVX2_FLAGS   = -mavx2 -mfma -mf16c
AVX512BF16_FLAGS = $(AVX512_FLAGS) -mavx512bf16 -mprfchw
AMX_FLAGS    = $(AVX512BF16_FLAGS) -mamx-tile -mamx-bf16
AVX512VNNI_FLAGS = $(AVX512_FLAGS) -mavx512vnni
AVXVNNI_FLAGS    = $(AVX2_FLAGS) -mavxvnni

LIB_SRC   := $(sort $(wildcard src/*/*.c))
CLI_SRC   := $(sort $(wildcard tools/zhuyi/*.c))
TEST_SRC  := $(sort $(wildcard tests/*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/%.o)
TOOL_TEST_OBJ := $(BUILD)/tools/zhuyi/svg.o $(BUILD)/tools/zhuyi/util.o $(BUILD)/tools/zhuyi/confusion.o \
                 $(BUILD)/tools/zhuyi/heatmap.o $(BUILD)/tools/zhuyi/textio.o $(BUILD)/tools/zhuyi/strbuf.o \
                 $(BUILD)/tools/zhuyi/base64.o
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

# Fuzzing: fuzz/fuzz_*.c are libFuzzer harnesses, the other fuzz/*.c their helpers. They
# are built (make fuzz-build) with clang into build/fuzz/, against the library compiled
# there with coverage, ASan and UBSan (-O1); scripts/fuzz.sh runs them.
FUZZ_SECONDS ?= 60
FUZZ_SRC    := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_HELPER_SRC := $(filter-out $(FUZZ_SRC),$(sort $(wildcard fuzz/*.c)))
FUZZ_BIN    := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/%)
FUZZ_HELPER_OBJ := $(FUZZ_HELPER_SRC:%.c=$(BUILD)/%.o)
FUZZ_SAN    = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all lib cli examples test test-build test-peers test-serve load-serve mpi test-mpi bench-mpi sanitize bench bench-build demo refs deps clean \
        help install uninstall fuzz fuzz-build fuzz-bins clang
.DEFAULT_GOAL := all

all: lib cli
lib: $(BUILD)/libzhuyi.a $(BUILD)/libzhuyi.so
cli: $(BUILD)/zhuyi
examples: $(EXAMPLE_BIN)

help:
	@echo "make            build build/libzhuyi.a, build/$(SOFILE) (+ links"
	@echo "                libzhuyi.so, $(SONAME)) and the CLI build/zhuyi"
	@echo "make test       install missing packages, build, run the test suite"
	@echo "make test-peers real peers read zhuyi's GGUF files: llama.cpp (npm node-llama-cpp,"
	@echo "                pinned, installed into build/peers) and @huggingface/gguf"
	@echo "make test-serve zhuyi serve with real clients: the openai npm package and the"
	@echo "                playground page in headless chromium (pinned, build/serve-peers)"
	@echo "make load-serve zhuyi serve under load (10,000 mixed requests, 32 clients) and abuse"
	@echo "                (slow-loris, 1000 idle connections), from tests/serve/load.sh"
	@echo "make mpi        the CLI with Open MPI (build/mpi/zhuyi): mpirun -np N ... pretrain"
	@echo "make test-mpi   data-parallel training on 1, 2, 3 ranks against one process"
	@echo "make bench-mpi  would exchanging gradients during backward pay? (2 ranks)"
	@echo "make sanitize   the test suite under AddressSanitizer + UBSan (build/san/)"
	@echo "make bench      benchmarks against OpenBLAS and PyTorch (figures to stdout)"
	@echo "make demo       train a small GPT on the King James Bible, print a passage"
	@echo "make refs       regenerate the PyTorch reference dumps in tests/ref/"
	@echo "make examples   build examples/*.c into build/examples/ (static library)"
	@echo "make fuzz       libFuzzer harnesses (clang, ASan + UBSan) in build/fuzz/, each run"
	@echo "                FUZZ_SECONDS (default 60); fails on any crash, leak or property"
	@echo "make clang      build everything with clang in build/clang/ and run the C tests"
	@echo "make install    install headers (include/zhuyi/), libzhuyi.a, the shared library,"
	@echo "                zhuyi.pc and bin/zhuyi under PREFIX (default /usr/local);"
	@echo "                DESTDIR=/stage puts them under /stage/PREFIX (for packaging)"
	@echo "make uninstall  remove them again (same PREFIX and DESTDIR)"
	@echo "Using the installed library (see examples/generate.c):"
	@echo "  cc prog.c \$$(pkg-config --cflags --libs zhuyi)"
	@echo "  (PKG_CONFIG_PATH=PREFIX/lib/pkgconfig if PREFIX is not /usr or /usr/local;"
	@echo "   LD_LIBRARY_PATH=PREFIX/lib to run if the dynamic linker does not search it)"

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%_avx512bf16.o: %_avx512bf16.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512BF16_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%_amx.o: %_amx.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AMX_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX2_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%_avx512vnni.o: %_avx512vnni.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512VNNI_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%_avxvnni.o: %_avxvnni.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVXVNNI_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libzhuyi.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/$(SOFILE): $(LIB_OBJ) src/exports.map
	$(CC) $(SO_LDFLAGS) $(LDFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/$(SONAME): $(BUILD)/$(SOFILE)
	ln -sf $(SOFILE) $@

$(BUILD)/libzhuyi.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

# The server's page is built into the CLI as it is (.incbin, which -MMD cannot see).
$(BUILD)/tools/zhuyi/serve_page.o: tools/zhuyi/serve_page.html

# Only the CLI links libmicrohttpd (zhuyi serve); the library does not.
$(BUILD)/zhuyi: $(CLI_OBJ) $(BUILD)/libzhuyi.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libzhuyi.a $(LDLIBS) -lmicrohttpd

# The tests also link the CLI pieces they test (tests/test_tools_*.c), not its main.
$(BUILD)/zhuyi-tests: $(TEST_OBJ) $(TOOL_TEST_OBJ) $(BUILD)/libzhuyi.a
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(TOOL_TEST_OBJ) $(BUILD)/libzhuyi.a $(LDLIBS)

# Benchmarks link OpenBLAS for side-by-side GEMM figures (never the library itself).
$(BUILD)/bench/%: bench/%.c $(BUILD)/libzhuyi.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libzhuyi.a -lopenblas $(LDLIBS)

# Examples, in the build tree: against the static library, like the CLI. Installed users
# build them with pkg-config instead (the header comment of each says how).
$(BUILD)/examples/%: examples/%.c $(BUILD)/libzhuyi.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libzhuyi.a $(LDLIBS)

deps:
	@scripts/deps.sh build

test-build: all $(BUILD)/zhuyi-tests $(EXAMPLE_BIN)

test:
	@scripts/deps.sh test
	@scripts/data.sh gpt2-tokenizer
	@scripts/data.sh bert-vocab
	@scripts/data.sh kjv
	@scripts/data.sh austen
	@$(MAKE) --no-print-directory test-build
	@scripts/test.sh $(BUILD)

# GGUF files read by real peers (tests/peers/gguf_peers.sh): installs its pinned npm
# packages into build/peers first (the only network access), so it is not part of `test`.
test-peers:
	@scripts/deps.sh test
	@scripts/data.sh gpt2-tokenizer
	@$(MAKE) --no-print-directory all
	@sh tests/peers/gguf_peers.sh $(BUILD)/zhuyi

# zhuyi serve with real clients (tests/serve/serve_peers.sh): the official openai npm
# package and the playground page in headless Debian chromium (playwright-core). Installs
# chromium and the pinned npm packages (into build/serve-peers) first, so not part of `test`.
test-serve:
	@scripts/deps.sh serve
	@scripts/data.sh gpt2-tokenizer
	@$(MAKE) --no-print-directory all
	@sh tests/serve/serve_peers.sh $(BUILD)/zhuyi

# zhuyi serve under load and abuse (tests/serve/load.sh: load.py, abuse.py; Python's
# standard library only). `make BUILD=build/san ... load-serve` (the sanitize flags) runs
# it against the AddressSanitizer build.
load-serve:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory cli
	@sh tests/serve/load.sh $(BUILD)/zhuyi

# The MPI flavour (dist.h): the CLI built with mpicc and ZY_MPI into build/mpi/zhuyi, for
# `mpirun -np N build/mpi/zhuyi pretrain ...`; the default build and the library need no MPI.
mpi:
	@scripts/deps.sh mpi
	@$(MAKE) --no-print-directory BUILD=build/mpi CC=mpicc EXTRA_CFLAGS=-DZY_MPI build/mpi/zhuyi

# Data-parallel training against one process (tests/mpi/mpi.sh), 1, 2 and 3 ranks.
test-mpi: mpi
	@sh tests/mpi/mpi.sh build/mpi/zhuyi

# Would exchanging gradients during backward pay here? Compute, exchange, and the two
# overlapped, on 2 ranks (bench/mpi/overlap.c; docs/BENCHMARKS.md).
bench-mpi: mpi
	@mkdir -p build/mpi/bench
	@mpicc $(CFLAGS) -o build/mpi/bench/overlap bench/mpi/overlap.c build/mpi/libzhuyi.a $(LDLIBS)
	@OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun --allow-run-as-root \
	    --oversubscribe --bind-to none -np 2 build/mpi/bench/overlap

sanitize:
	@scripts/deps.sh test
	@scripts/data.sh gpt2-tokenizer
	@scripts/data.sh bert-vocab
	@scripts/data.sh kjv
	@scripts/data.sh austen
	@$(MAKE) --no-print-directory BUILD=build/san OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    build/san/zhuyi-tests build/san/zhuyi build/san/libzhuyi.so
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 scripts/test.sh build/san

bench: bench-build
	@scripts/data.sh gpt2-tokenizer
	@scripts/data.sh kjv
	@BUILD=$(BUILD) scripts/bench.sh

# The benchmark programs, built but not run (.ci/run: they must keep compiling).
bench-build:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN)

# libFuzzer harnesses against the library built with clang for coverage, ASan and UBSan
# (fuzzer-no-link: instrumented, but libFuzzer's main only in the harness binaries).
fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh build/fuzz

fuzz-build:
	@$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz OPT=-O1 \
	    SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" fuzz-bins

# The helper objects are named here so make keeps them (not intermediate files).
fuzz-bins: $(FUZZ_HELPER_OBJ) $(FUZZ_BIN)

# The server's request harness links the CLI's objects (all but its main) and libmicrohttpd.
$(BUILD)/fuzz_serve_request: fuzz/fuzz_serve_request.c $(FUZZ_HELPER_OBJ) \
    $(filter-out $(BUILD)/tools/zhuyi/main.o,$(CLI_OBJ)) $(BUILD)/libzhuyi.a
	$(CC) $(CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(FUZZ_HELPER_OBJ) \
	    $(filter-out $(BUILD)/tools/zhuyi/main.o,$(CLI_OBJ)) $(BUILD)/libzhuyi.a $(LDLIBS) \
	    -lmicrohttpd

$(BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_HELPER_OBJ) $(BUILD)/libzhuyi.a
	$(CC) $(CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(FUZZ_HELPER_OBJ) \
	    $(BUILD)/libzhuyi.a $(LDLIBS)

# The library, CLI, examples and tests built with clang (the code builds with gcc and
# clang alike, warnings as errors), then the C tests run.
clang:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory CC=clang BUILD=build/clang test-build
	@build/clang/zhuyi-tests

# Installs bible-kjv if missing, trains a BPE + small GPT, prints val loss and a passage.
demo:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	@ZHUYI=$(BUILD)/zhuyi scripts/demo.sh

refs:
	@scripts/deps.sh refs
	@for s in tests/ref_*.py; do echo "/usr/bin/python3 $$s"; /usr/bin/python3 $$s || exit 1; done

# zhuyi.pc is written at install time from zhuyi.pc.in, so it names this PREFIX.
# pkg-config variables stay relative to ${prefix} where they can (relocatable).
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(INCLUDEDIR)/zhuyi
	$(INSTALL) -m 644 include/zhuyi/*.h $(DESTDIR)$(INCLUDEDIR)/zhuyi/
	$(INSTALL) -m 644 $(BUILD)/libzhuyi.a $(DESTDIR)$(LIBDIR)/libzhuyi.a
	$(INSTALL) -m 755 $(BUILD)/$(SOFILE) $(DESTDIR)$(LIBDIR)/$(SOFILE)
	ln -sf $(SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libzhuyi.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(PC_LIBS_PRIVATE)|' zhuyi.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/zhuyi.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/zhuyi.pc
	$(INSTALL) -m 755 $(BUILD)/zhuyi $(DESTDIR)$(BINDIR)/zhuyi
	@# A real (not staged) install as root: refresh the dynamic linker's cache so programs
	@# find libzhuyi.so.0 in PREFIX/lib at once (when ld.so.conf lists it, as /usr/local/lib).
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	    ldconfig || true; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/zhuyi $(DESTDIR)$(PKGCONFIGDIR)/zhuyi.pc \
	    $(DESTDIR)$(LIBDIR)/libzhuyi.a $(DESTDIR)$(LIBDIR)/libzhuyi.so \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/$(SOFILE)
	rm -f $(DESTDIR)$(INCLUDEDIR)/zhuyi/*.h
	rmdir $(DESTDIR)$(INCLUDEDIR)/zhuyi 2>/dev/null || true

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BENCH_BIN:=.d) $(EXAMPLE_BIN:=.d) \
         $(FUZZ_BIN:=.d) $(FUZZ_HELPER_OBJ:.o=.d)
