# corral — one non-recursive Makefile.
# make [all] | check | demo | bench | stress | install | uninstall | clean
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
PKG_CONFIG ?= pkg-config
CC ?= cc
B ?= build
SAN ?=
# V=1 shows the commands.
V ?=
Q := $(if $(V),,@)

PKGS := libcjson libseccomp libcurl libcrypto libcares
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wimplicit-fallthrough -fno-common \
	-Werror=implicit-function-declaration -Werror=return-type \
	-Werror=incompatible-pointer-types -Werror=int-conversion \
	-Werror=format-security
HARDEN := -fstack-protector-strong -fPIE
SANFLAGS := -fsanitize=address,undefined
ifeq ($(SAN),)
OPT := -O2 -g -D_FORTIFY_SOURCE=2
else
OPT := -O1 -g -fno-omit-frame-pointer $(SANFLAGS) -fno-sanitize-recover=undefined
endif
# Developers and CI build with -Werror (WERROR=1); users' newer compilers need not.
WERROR ?=
CFLAGS ?=
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) $(if $(WERROR),-Werror) \
	-I. $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDFLAGS ?=
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now $(if $(SAN),$(SANFLAGS)) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lev -lm

CORE_SRC := $(sort $(wildcard core/*.c sandbox/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o)
CMD_OBJ := $(CMD_SRC:%.c=$(B)/%.o)

SERVER_SRC := $(filter-out tests/servers/fakelib.c tests/servers/httpsrv.c,$(wildcard tests/servers/*.c))
SERVERS := $(SERVER_SRC:%.c=$(B)/%)
EXAMPLE_SRC := $(wildcard examples/*.c)
EXAMPLES := $(EXAMPLE_SRC:%.c=$(B)/%)
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCHES := $(BENCH_SRC:%.c=$(B)/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOLS := $(TOOL_SRC:%.c=$(B)/%)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITS := $(UNIT_SRC:%.c=$(B)/%)
# Fuzz harnesses: replayed over their corpora by make check (gcc, with
# tests/fuzz/replay.c); make fuzz builds them with clang and libFuzzer.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_SRC:%.c=$(B)/%)

all: $(B)/corral

$(B)/corral: $(CMD_OBJ) $(CORE_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/servers/%: $(B)/tests/servers/%.o $(B)/tests/servers/fakelib.o
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# The fake HTTP servers share tests/servers/httpsrv.c.
$(B)/tests/servers/httpmcp $(B)/tests/servers/ssemcp: $(B)/tests/servers/httpsrv.o

$(B)/examples/%: $(B)/examples/%.o
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Benchmark programs stand alone: they must not share corral's code.
$(B)/tests/bench/%: $(B)/tests/bench/%.o
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Test tools that use corral's own modules (e.g. writing audit logs).
$(B)/tests/tools/%: $(B)/tests/tools/%.o $(CORE_OBJ)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(CORE_OBJ)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

$(B)/tests/fuzz/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay.o $(CORE_OBJ)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

servers: $(SERVERS) $(EXAMPLES) $(TOOLS) $(BENCHES)
units: $(UNITS)
fuzzers: $(FUZZ_REPLAY)

deps:
	@sh scripts/deps.sh
deps-test:
	@sh scripts/deps.sh test

# The demo: build, then run the main job on the bundled example.
demo: deps
	@$(MAKE) --no-print-directory all servers
	@sh examples/demo.sh $(B)

# Every test, on the normal build and on an ASan+UBSan build.
check: deps-test
	@$(MAKE) --no-print-directory WERROR=1 all servers units fuzzers
	@$(MAKE) --no-print-directory WERROR=1 B=build-asan SAN=1 all servers units fuzzers
	@sh tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all servers
	@if [ -f tests/bench/run.sh ]; then sh tests/bench/run.sh $(B); \
	else echo "make bench: no benchmarks yet (tests/bench/run.sh)" >&2; exit 1; fi

# The load test at full size (make check runs it scaled down).
stress: deps-test
	@$(MAKE) --no-print-directory WERROR=1 all servers
	@CORRAL_STRESS=1 bats tests/bats/96-load.bats

# Fuzzing with clang's libFuzzer: build-fuzz/ holds clang objects only.
# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="fuzz_host ..."] [FUZZ_JOBS=2]
FZ := build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
FUZZ_TARGETS ?= $(notdir $(basename $(FUZZ_SRC)))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# FUZZ_KNOWN: -D switches of work-arounds in the harnesses for product
# bugs already reported, so that fuzzing goes on past them (make check
# replays tests/fuzz/regress/ without them). None is needed now.
FUZZ_KNOWN ?=
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer \
	$(FUZZ_SAN) -I. $(PKG_CFLAGS) $(FUZZ_KNOWN) -MMD -MP
FZ_CORE_OBJ := $(CORE_SRC:%.c=$(FZ)/%.o)
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(FZ)/%)

$(FZ)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CLANG   $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZ)/fuzz_%: $(FZ)/tests/fuzz/fuzz_%.o $(FZ_CORE_OBJ)
	@echo "  LD      $@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: deps-fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@sh tests/fuzz/run.sh $(FZ) $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

deps-fuzz:
	@sh scripts/deps.sh fuzz

lint-man:
	mandoc -Tlint -Wwarning man/*.[0-9]

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(B)/corral $(DESTDIR)$(BINDIR)/corral
	install -m 0644 man/corral.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/corral.json.5 $(DESTDIR)$(MANDIR)/man5/
	for f in man/*.7; do [ -f "$$f" ] && install -m 0644 "$$f" $(DESTDIR)$(MANDIR)/man7/ || true; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/corral $(DESTDIR)$(MANDIR)/man1/corral.1 \
		$(DESTDIR)$(MANDIR)/man5/corral.json.5 $(DESTDIR)$(MANDIR)/man7/corral-sandbox.7

clean:
	rm -rf build build-asan build-fuzz tests/interop/node_modules

.PHONY: all servers units fuzzers fuzz fuzz-build deps-fuzz deps deps-test demo check bench stress lint-man install uninstall clean
.SECONDARY:
.DELETE_ON_ERROR:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
ifneq ($(filter fuzz fuzz-build $(FZ)/%,$(MAKECMDGOALS)),)
-include $(shell find $(FZ) -name '*.d' 2>/dev/null)
endif
