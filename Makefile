# btrsend — the one build entry.  See README.md.
#
#   make            build the release build/btrsendctl and build/btrsendd
#   make TESTING=1  the test build, in build-test/: with the fault-injection
#                   hooks the integration tests use (proto/base/testing.h)
#   make SAN=1      a test build with ASan+UBSan, in build-san/
#   make deps       install every Debian package needed (idempotent)
#   make check      deps, the release, test and SAN builds, unit tests on
#                   each, integration tests on the test build (one checks
#                   the release build is free of hooks), fuzz smoke
#   make integration  build the test build the integration tests run on
#   make fuzz       libFuzzer targets (FUZZ_SECONDS each, default 60)
#   make bench      benchmarks against btrfs-progs in the same run (release)
#   make demo       a real replication demo on loopback btrfs (release build)
#   make install    PREFIX=/usr/local SYSCONFDIR=/etc DESTDIR= (and uninstall)

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR  ?= /etc
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
V       ?= 0
SAN     ?= 0
TESTING ?= 0

# Test hooks (-DBTRSEND_TESTING) never go into build/, the release build.
ifeq ($(SAN),1)
B := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TESTFLAGS := -DBTRSEND_TESTING
else ifeq ($(TESTING),1)
B := build-test
SANFLAGS :=
TESTFLAGS := -DBTRSEND_TESTING
else
B := build
SANFLAGS :=
TESTFLAGS :=
endif

# Evaluated lazily: on a fresh machine pkg-config only exists after `make deps`.
PKGS     = libisal libbtrfsutil uuid libssl libcrypto libevent libevent_openssl \
           libsystemd libzstd zlib lzo2 libseccomp libcap
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-qual -Wformat=2 -Wno-format-nonliteral
ifneq ($(CI),)
WARN    += -Werror
endif
OPT     ?= -O2 -g
CFLAGS  ?=
ALL_CFLAGS = -std=gnu11 $(OPT) $(WARN) $(SANFLAGS) $(TESTFLAGS) -D_GNU_SOURCE -I. $(PKG_CFLAGS) $(CFLAGS)
LDLIBS  = $(PKG_LIBS) -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Three libraries, by role (docs/architecture.md, "Modules"):
#   libbtrsend.a   proto/, engine/, conf/, daemon/net/, daemon/worker/:
#                  what both programs, the tests and the fuzzers share
#   libbtrsendd.a  daemon/*.c: btrsendd's parent
#   libbtrsendctl.a daemon/ctl/*.c: the btrsendctl client
# The two mains link their own library and the shared one.
MAINS    := daemon/btrsendd.c daemon/ctl/btrsendctl.c
LIB_SRCS := $(sort $(wildcard proto/*/*.c engine/*.c conf/*.c \
            daemon/net/*.c daemon/worker/*.c))
PARENT_SRCS := $(sort $(filter-out $(MAINS),$(wildcard daemon/*.c)))
CTL_SRCS := $(sort $(filter-out $(MAINS),$(wildcard daemon/ctl/*.c)))
LIB      := $(B)/libbtrsend.a
PARENT_LIB := $(B)/libbtrsendd.a
CTL_LIB  := $(B)/libbtrsendctl.a
BINS     := $(B)/btrsendctl $(B)/btrsendd

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
TOOL_SRCS  := $(sort $(wildcard tests/lib/*.c))
TOOL_BINS  := $(TOOL_SRCS:tests/lib/%.c=$(B)/tests/%)
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 60
# make check fuzzes each target for less, to keep CI well under 25 minutes.
CHECK_FUZZ_SECONDS ?= 30

# Keep objects of chained rules (tests, tools): rebuilding them is waste.
.SECONDARY:

.PHONY: all deps check unit integration integration-bins fuzz bench demo install \
        uninstall clean
all: $(BINS) $(UNIT_BINS) $(TOOL_BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(filter 0,$(V)),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_SRCS:%.c=$(B)/%.o)
$(PARENT_LIB): $(PARENT_SRCS:%.c=$(B)/%.o)
$(CTL_LIB): $(CTL_SRCS:%.c=$(B)/%.o)
$(LIB) $(PARENT_LIB) $(CTL_LIB):
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/btrsendd: $(B)/daemon/btrsendd.o $(PARENT_LIB) $(LIB)
$(B)/btrsendctl: $(B)/daemon/ctl/btrsendctl.o $(CTL_LIB) $(LIB)
$(BINS):
	$(if $(filter 0,$(V)),@echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

# Unit tests may test any library; the linker takes what each one uses.
$(B)/tests/test_%: $(B)/tests/unit/test_%.o $(PARENT_LIB) $(CTL_LIB) $(LIB)
	$(if $(filter 0,$(V)),@echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) $(shell pkg-config --libs cmocka) -o $@

$(B)/tests/%: $(B)/tests/lib/%.o $(PARENT_LIB) $(CTL_LIB) $(LIB)
	$(if $(filter 0,$(V)),@echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

# libFuzzer builds compile the shared library's sources again with clang.
FUZZ_CFLAGS = -std=gnu11 -g -O1 -D_GNU_SOURCE -I. $(PKG_CFLAGS) \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_SRCS = $(LIB_SRCS)
build-fuzz/%: tests/fuzz/%.c tests/fuzz/frames.h $(FUZZ_LIB_SRCS)
	@mkdir -p build-fuzz
	$(if $(filter 0,$(V)),@echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) $< $(FUZZ_LIB_SRCS) $(LDLIBS) -o $@

deps:
	@tests/lib/deps.sh

unit: $(UNIT_BINS)
# Integration tests run on the test build (tests/lib/common.sh: B=build-test).
integration:
	$(Q)$(MAKE) --no-print-directory TESTING=1 integration-bins
integration-bins: $(BINS) $(TOOL_BINS)

# `check` installs what it needs first, then builds in a fresh make so that
# pkg-config is consulted only once it exists.  The integration tests run
# on the test build (build-test/); release_no_hooks.sh checks that the
# release build (build/) carries no test hook.
# Unit tests run three times: in the test build, in the release build and
# under ASan+UBSan (build-san/).
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory all TESTING=1
	$(Q)$(MAKE) --no-print-directory all SAN=1
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)B=build-test REL_B=build SAN_B=build-san FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) tests/run.sh $(T)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do tests/lib/fuzz.sh $$f $(FUZZ_SECONDS) || exit 1; done

bench: all
	$(Q)B=$(B) tests/bench/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)B=$(B) tests/lib/demo.sh

# The unit names /usr/sbin and /etc (right for PREFIX=/usr packages and
# for systemd-analyze verify of the source); installing points it at the
# real SBINDIR and SYSCONFDIR.
INSTALLED := $(BINDIR)/btrsendctl $(SBINDIR)/btrsendd \
             $(MANDIR)/man8/btrsendd.8 $(MANDIR)/man8/btrsendctl.8 \
             $(MANDIR)/man5/btrsend.conf.5 \
             $(SYSCONFDIR)/btrsend/btrsend.conf.example \
             $(UNITDIR)/btrsendd.service $(TMPFILESDIR)/btrsend.conf \
             $(SYSUSERSDIR)/btrsend.conf $(BASHCOMPDIR)/btrsendctl

install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/btrsend $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(BASHCOMPDIR)
	install -m 755 $(B)/btrsendctl $(DESTDIR)$(BINDIR)/btrsendctl
	install -m 755 $(B)/btrsendd $(DESTDIR)$(SBINDIR)/btrsendd
	install -m 644 daemon/btrsendd.8 daemon/ctl/btrsendctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 conf/btrsend.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 conf/btrsend.conf.example $(DESTDIR)$(SYSCONFDIR)/btrsend/
	sed -e 's|/usr/sbin/|$(SBINDIR)/|g' -e 's|/etc/btrsend/|$(SYSCONFDIR)/btrsend/|g' \
	    systemd/btrsendd.service > $(DESTDIR)$(UNITDIR)/btrsendd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/btrsendd.service
	install -m 644 systemd/btrsend.tmpfiles $(DESTDIR)$(TMPFILESDIR)/btrsend.conf
	install -m 644 systemd/btrsend.sysusers $(DESTDIR)$(SYSUSERSDIR)/btrsend.conf
	install -m 644 daemon/ctl/completion.bash $(DESTDIR)$(BASHCOMPDIR)/btrsendctl

# Leaves an admin's btrsend.conf (and so its directory) alone.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	[ ! -d $(DESTDIR)$(SYSCONFDIR)/btrsend ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SYSCONFDIR)/btrsend

clean:
	rm -rf build build-test build-san build-fuzz

-include $(shell find $(B) -name '*.d' 2>/dev/null)
