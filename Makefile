# lakehouse - build, run and test.
#
#   make run [DATA=dir]   install missing packages, build, start the process group
#   make demo [DATA=dir]  send the sample flights to the demo endpoint of a running group
#   make deb              Debian package build/lakehouse_<version>_<arch>.deb
#   make test             install missing packages, build with ASan+UBSan, run every test
#   make                  build (build/bin/)
#   make SANITIZE=1       build with ASan+UBSan (build/asan/bin/)
#   make deps             install missing Debian packages (apt-get)
#   make clean

DATA     ?= ./lakehouse
SANITIZE ?= 0

ifeq ($(SANITIZE),1)
BUILD    ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPTFLAGS := -O1 -g
else
BUILD    ?= build
SANFLAGS :=
OPTFLAGS := -O2 -g
endif

PKGS     := libzmq msgpack sqlite3 liblz4 jansson libmicrohttpd yaml-0.1
# libcrypto (libssl-dev): SHA-256 of landing files (ingest/landing.c)
PKGS     += libcrypto
# libzstd, snappy: the compression codecs of Parquet data files (common/parquet.c)
PKGS     += libzstd snappy
# libcurl (SigV4 signing) and libxml2 (ListObjectsV2 answers): the S3 client (common/s3.c)
PKGS     += libcurl libxml-2.0
CC       ?= cc
CPPFLAGS += -D_GNU_SOURCE -Icommon
# -Wformat-truncation is off: truncation is handled by checking snprintf results
# (fsutil_path) and its heuristics misfire on bounded buffers.
CFLAGS   += -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-truncation $(OPTFLAGS) $(SANFLAGS) -MMD -MP
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS   += $(PKG_LIBS) -linotifytools -lm
# What to compile and link against, for builds outside this Makefile (the
# fuzz targets): one list of libraries, here.
.PHONY: print-cflags print-ldlibs
print-cflags:
	@echo $(PKG_CFLAGS)
print-ldlibs:
	@echo $(LDLIBS)
LDFLAGS  += $(SANFLAGS)

# Debian 12 packages: build dependencies and the tools the tests use.
DEB_PACKAGES := build-essential pkg-config libzmq3-dev libmsgpack-dev libsqlite3-dev \
                liblz4-dev libinotifytools0-dev libjansson-dev libcmocka-dev sqlite3 lz4 \
                libmicrohttpd-dev curl jq systemd clang libclang-rt-14-dev
DEB_PACKAGES += libssl-dev libyaml-dev
DEB_PACKAGES += libzstd-dev libsnappy-dev
# the S3 client; radosgw and a one-node Ceph cluster are the tests' S3 server (tests/s3/radosgw.sh)
DEB_PACKAGES += libcurl4-openssl-dev libxml2-dev radosgw ceph-mon ceph-osd
# make deb: dpkg-shlibdeps (dpkg-dev), man pages from --help, the package check
DEB_PACKAGES += dpkg-dev help2man lintian
# tests: the HTTP load tool (tests/tools/http_load.py), certificates for the TLS test
DEB_PACKAGES += python3 openssl
# The console's browser tests (tests/integration/console.sh) drive Debian's chromium.
DEB_PACKAGES += chromium

# common/read/: what only the read side (broker HTTP API, lakehouse) uses.
COMMON_SRCS := $(wildcard common/*.c) $(wildcard common/read/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/obj/%.o)
COMMON_LIB  := $(BUILD)/lib/liblakehouse-common.a

# Each process is its main.c plus a static library of its other sources
# (build/lib/liblakehouse-<process>.a), which its unit tests link too.
BROKER_SRCS      := $(wildcard broker/*.c) $(wildcard broker/http/*.c)
INGEST_SRCS      := $(wildcard ingest/*.c)
PROCESSOR_SRCS   := $(wildcard processor/*.c)
TRANSFORMER_SRCS := $(wildcard transformer/*.c)
CLI_SRCS         := $(wildcard broker/cli/*.c)
UNIT_SRCS        := $(wildcard tests/unit/test_*.c)
PROCESSES        := broker ingest processor transformer cli
BINS := $(BUILD)/bin/lakehouse-broker $(BUILD)/bin/lakehouse-ingest \
        $(BUILD)/bin/lakehouse-processor $(BUILD)/bin/lakehouse-transformer \
        $(BUILD)/bin/lakehouse $(BUILD)/bin/lakehouse-http-serve \
        $(BUILD)/bin/lakehouse-ingest-tool $(BUILD)/bin/lakehouse-notify-listen \
        $(BUILD)/bin/lakehouse-iceberg-tool $(BUILD)/bin/lakehouse-s3-tool
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all build run demo test test-only unit clean deps
all: build
build: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# $(call process_lib,name,sources): liblakehouse-<name>.a of the sources but main.c.
define process_lib
$(BUILD)/lib/liblakehouse-$(1).a: $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out %/main.c,$(2)))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(eval $(call process_lib,broker,$(BROKER_SRCS)))
$(eval $(call process_lib,ingest,$(INGEST_SRCS)))
$(eval $(call process_lib,processor,$(PROCESSOR_SRCS)))
$(eval $(call process_lib,transformer,$(TRANSFORMER_SRCS)))
$(eval $(call process_lib,cli,$(CLI_SRCS)))

# $(call link_process,binary,objects and libraries before the common one)
define link_process
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(2)) $(COMMON_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(eval $(call link_process,lakehouse-broker,broker/main.c $(BUILD)/lib/liblakehouse-broker.a))
$(eval $(call link_process,lakehouse-ingest,ingest/main.c $(BUILD)/lib/liblakehouse-ingest.a))
$(eval $(call link_process,lakehouse-processor,processor/main.c $(BUILD)/lib/liblakehouse-processor.a))
$(eval $(call link_process,lakehouse-transformer,transformer/main.c $(BUILD)/lib/liblakehouse-transformer.a))
$(eval $(call link_process,lakehouse,broker/cli/main.c $(BUILD)/lib/liblakehouse-cli.a))
# Test tools (tests/tools/): an HTTP server with other settings (body limit,
# token, an ingest that never answers) beside a group; an ingest test client.
$(eval $(call link_process,lakehouse-http-serve,tests/tools/http_serve.c $(BUILD)/lib/liblakehouse-broker.a))
$(eval $(call link_process,lakehouse-ingest-tool,tests/tools/ingest_tool.c))
$(eval $(call link_process,lakehouse-notify-listen,tests/tools/notify_listen.c))
# Writes Parquet / Avro / Iceberg files from JSON for the readers of the tests.
$(eval $(call link_process,lakehouse-iceberg-tool,tests/tools/iceberg_tool.c))
# The S3 client from the command line (tests/integration/s3.sh against radosgw).
$(eval $(call link_process,lakehouse-s3-tool,tests/tools/s3_tool.c))

# The web console (broker/console/) is embedded in the broker: embed.sh turns
# its files into one generated C source (bytes by .incbin, gzip'd copies,
# ETags); `make console-vendor` refreshes the vendored libraries from npm.
CONSOLE_FILES := $(filter-out %/vendor.sh %/package.json %/package-lock.json %-entry.js, \
                   $(shell find broker/console -type f ! -path '*/licenses/*' 2>/dev/null))
CONSOLE_OBJ   := $(BUILD)/obj/gen/console_assets.o
$(BUILD)/gen/console_assets.c: $(CONSOLE_FILES)
	broker/console/embed.sh $@ $(BUILD)/gen/console
$(CONSOLE_OBJ): $(BUILD)/gen/console_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ibroker/http $(CFLAGS) -c $< -o $@
$(BUILD)/bin/lakehouse-broker $(BUILD)/bin/lakehouse-http-serve: $(CONSOLE_OBJ)
.PHONY: console-vendor
console-vendor:
	broker/console/vendor.sh

# A unit test links the library of the process its name starts with
# (test_ingest_*, test_processor_*, test_transformer_*, test_broker_*,
# test_cli_*), then the common library; other tests link the common one only.
# Such a test also sees its process's headers.
unit_lib = $(foreach p,$(PROCESSES),$(if $(filter test_$(p)_%,$(1)),$(BUILD)/lib/liblakehouse-$(p).a))
process_dir_broker := broker
process_dir_ingest := ingest
process_dir_processor := processor
process_dir_transformer := transformer
process_dir_cli := broker/cli
$(foreach p,$(PROCESSES),$(eval $(BUILD)/obj/tests/unit/test_$(p)_%.o: CPPFLAGS += -I$(process_dir_$(p))))
.SECONDEXPANSION:
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $$(call unit_lib,$$*) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Keep the test objects (make would delete them as intermediates and rebuild them every time).
.SECONDARY: $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/obj/tests/unit/%.o)
unit: $(UNIT_BINS)

# Install whatever Debian packages are missing (needs root or sudo).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

run: deps
	$(MAKE) build SANITIZE=0
	exec build/bin/lakehouse-broker --data "$(DATA)" --demo

# The quick start's data: tests/data/flights-20k.json into demo/flights of the
# group `make run` started on the same DATA (the README's quick start).
demo: $(BUILD)/bin/lakehouse
	$(BUILD)/bin/lakehouse --data "$(DATA)" send demo/flights < tests/data/flights-20k.json

# The whole suite under ASan+UBSan: unit tests, then integration tests that
# start the real processes. Ends with "N passed, N failed". The optimised
# build (the one `make run` uses) is built first so that its warnings fail too.
test: deps
	$(MAKE) build SANITIZE=0
	$(MAKE) build unit SANITIZE=1
	tests/run.sh build/asan

# libFuzzer targets (tests/fuzz/, clang): each ~20 s (fuzz) or 10 min
# (fuzz-long); crashes land in $(BUILD)/fuzz/crashes/. Fault suite, long mode.
.PHONY: fuzz fuzz-long fault-long
fuzz:
	tests/fuzz/run.sh 20 $(BUILD)/fuzz
fuzz-long:
	tests/fuzz/run.sh 600 $(BUILD)/fuzz
fault-long: deps
	$(MAKE) build unit SANITIZE=1
	FAULT_LONG=1 tests/run.sh build/asan

test-only:
	tests/run.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Benchmarks (tests/bench/): an optimised build (never sanitizers),
# never part of `make test`. `make bench` prints one table and writes
# tests/bench/results.md; `make bench-check` also exits non-zero when a target
# is missed. BENCH_RECORDS=3000000 BENCH_STEADY_S=60 is the full-size run.
$(eval $(call link_process,lakehouse-bench,tests/bench/bench.c))
.PHONY: bench bench-check
bench:
	$(MAKE) build $(BUILD)/bin/lakehouse-bench SANITIZE=0
	tests/bench/bench.sh $(BUILD)
bench-check:
	$(MAKE) build $(BUILD)/bin/lakehouse-bench SANITIZE=0
	tests/bench/bench.sh --check $(BUILD)

# Install: the four daemons and `lakehouse` (no test tools) into
# $(PREFIX)/bin, the systemd units into $(PREFIX)/lib/systemd/system (their
# /usr/local/bin and /etc/lakehouse paths rewritten), the sysusers file, and
# a default $(SYSCONFDIR)/lakehouse/lakehouse.json (never overwritten; removed
# by uninstall only while it is still the default) whose http_token_file is
# $(SYSCONFDIR)/lakehouse/http_token: a random token generated there when the
# installed config names it and it is missing (mode 0640, group lakehouse
# when that group exists; removed with the default config). DESTDIR for staging.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
INSTALL_BINS  := lakehouse lakehouse-broker lakehouse-ingest lakehouse-processor lakehouse-transformer
INSTALL_UNITS := lakehouse.target lakehouse-broker.service lakehouse-ingest.service \
                 lakehouse-processor.service lakehouse-transformer.service
# The default configuration: `config print --defaults` for /var/lib/lakehouse,
# with http_token_file naming the token the package generates.
# $(call default_config,LAKEHOUSE_PROGRAM,SYSCONFDIR)
default_config = env -i $(1) --data /var/lib/lakehouse config print --defaults \
  --token-file $(2)/lakehouse/http_token
.PHONY: install uninstall deb
install: $(INSTALL_BINS:%=$(BUILD)/bin/%)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/systemd/system \
	  $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(SYSCONFDIR)/lakehouse
	install -m 0755 $^ $(DESTDIR)$(PREFIX)/bin/
	for u in $(INSTALL_UNITS); do \
	  sed -e 's#/usr/local/bin/#$(PREFIX)/bin/#g' -e 's#/etc/lakehouse/#$(SYSCONFDIR)/lakehouse/#g' \
	    deploy/systemd/$$u >$(DESTDIR)$(PREFIX)/lib/systemd/system/$$u && \
	  chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$u || exit 1; done
	install -m 0644 deploy/systemd/lakehouse.sysusers.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/lakehouse.conf
	$(call default_config,$(BUILD)/bin/lakehouse,$(SYSCONFDIR)) >$(BUILD)/lakehouse.json
	[ -e $(DESTDIR)$(SYSCONFDIR)/lakehouse/lakehouse.json ] || \
	  install -m 0644 $(BUILD)/lakehouse.json $(DESTDIR)$(SYSCONFDIR)/lakehouse/lakehouse.json
	t=$(DESTDIR)$(SYSCONFDIR)/lakehouse/http_token; \
	if [ ! -e $$t ] && grep -q '"http_token_file": "$(SYSCONFDIR)/lakehouse/http_token"' \
	    $(DESTDIR)$(SYSCONFDIR)/lakehouse/lakehouse.json; then \
	  (umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >$$t && echo >>$$t) && chmod 0640 $$t && \
	  if getent group lakehouse >/dev/null; then chgrp lakehouse $$t; \
	  else echo "note: no group 'lakehouse' yet: after systemd-sysusers, chgrp lakehouse $$t"; fi; fi
uninstall:
	c=$(DESTDIR)$(SYSCONFDIR)/lakehouse/lakehouse.json; \
	if [ -x $(DESTDIR)$(PREFIX)/bin/lakehouse ] && [ -e $$c ]; then \
	  $(call default_config,$(DESTDIR)$(PREFIX)/bin/lakehouse,$(SYSCONFDIR)) | cmp -s - $$c \
	    && rm -f $$c $(DESTDIR)$(SYSCONFDIR)/lakehouse/http_token \
	    || echo "kept $$c (changed from the default)"; fi
	rm -f $(INSTALL_BINS:%=$(DESTDIR)$(PREFIX)/bin/%) \
	  $(INSTALL_UNITS:%=$(DESTDIR)$(PREFIX)/lib/systemd/system/%) \
	  $(DESTDIR)$(PREFIX)/lib/sysusers.d/lakehouse.conf
	-rmdir $(DESTDIR)$(SYSCONFDIR)/lakehouse 2>/dev/null

# Debian package (deploy/debian/): $(DEB_OUT)/lakehouse_<version>_<arch>.deb
# with the five programs, the units, the sysusers file, the default
# configuration as a conffile and man pages; postinst makes the user,
# /var/lib/lakehouse and /etc/lakehouse/http_token.
DEB_OUT ?= $(BUILD)
deb: $(INSTALL_BINS:%=$(BUILD)/bin/%)
	@mkdir -p $(DEB_OUT)
	$(call default_config,$(BUILD)/bin/lakehouse,/etc) >$(DEB_OUT)/deb-lakehouse.json
	deploy/debian/build.sh $(BUILD) $(DEB_OUT)/deb-lakehouse.json $(DEB_OUT)
