# SPDX-License-Identifier: GPL-2.0-only
#
# Included by tests/Makefile: the tests of libudmabuf-ext (tests/lib_*.c) are
# built the way its users build: against an installed tree, with nothing but
# `pkg-config --cflags --libs udmabuf-ext`.
#
#   1. "make install-user DESTDIR=build/destdir" (the default PREFIX,
#      /usr/local): library, headers, .pc, CLI, man pages, udev rule;
#   2. pkg-config reads only that tree (PKG_CONFIG_LIBDIR) and prefixes its
#      paths with it (PKG_CONFIG_SYSROOT_DIR);
#   3. cc with those flags, plus the kselftest harness (-isystem, as for
#      every test) and an rpath to the tree's libdir so that the program
#      finds the library in the guest without LD_LIBRARY_PATH.
#
# The install runs on every "make tests" (cheap); the tests relink each time.
# The guest suite "tools" (tests/suites/tools) runs the installed CLI too.

LIB_DESTDIR := $(TOP)/build/destdir
LIB_PREFIX := /usr/local
LIB_LIBDIR := $(LIB_DESTDIR)$(LIB_PREFIX)/lib
LIB_PKGCONFIG := PKG_CONFIG_LIBDIR=$(LIB_LIBDIR)/pkgconfig \
	PKG_CONFIG_SYSROOT_DIR=$(LIB_DESTDIR) pkg-config

.PHONY: lib-destdir
lib-destdir:
	@echo "  INSTALL $(patsubst $(TOP)/%,%,$(LIB_DESTDIR)) (make install-user)"
	$(Q)$(MAKE) --no-print-directory -C $(TOP) install-user \
		DESTDIR=$(LIB_DESTDIR) PREFIX=$(LIB_PREFIX) >$(OUT)/.lib-destdir.log 2>&1 || \
		{ cat $(OUT)/.lib-destdir.log; exit 1; }

# The shorter stem wins: this rule, not the generic one, builds lib_*.
$(OUT)/lib_%: $(SRCDIR)/lib_%.c $(KSFT_HDRS) lib-destdir | $(OUT)
	@echo "  CC      $(patsubst $(TOP)/%,%,$@) (pkg-config udmabuf-ext)"
	$(Q)rm -f $@
	$(Q)pkgflags=$$($(LIB_PKGCONFIG) --cflags --libs udmabuf-ext) && \
	$(CC) $(CFLAGS) -isystem $(KSFT) -MMD -MP -MF $(OUT)/.lib_$*.d -o $@ $< \
		$$pkgflags -Wl,-rpath,$(LIB_LIBDIR)
