# SPDX-License-Identifier: GPL-2.0-only
#
# udmabuf-ext top-level Makefile.
#
# The module is built with the two-pass kbuild pattern from
# Documentation/kbuild/modules.rst: this file runs in the normal make pass and
# hands udmabuf-ext/ (with its Kbuild file) to the kernel's build system.

# The target kernel: the running one if its headers are installed, else
# Debian's default (linux-headers-amd64's, 6.1 on Debian 12), else the newest
# installed headers (tools/kernels default).  KDIR= overrides.
KDIR ?= $(shell $(CURDIR)/tools/kernels kdir 2>/dev/null)
O := $(CURDIR)/build
MDIR := $(CURDIR)/udmabuf-ext
KMAKE = $(MAKE) -C $(KDIR) M=$(MDIR)

.PHONY: all module modules_install clean check demo bench fuzz check-debug \
	w1 sparse checkpatch tests lib cli install install-module install-user \
	uninstall dkms-source dkms-check deb deb-check compat-build

all: module lib cli

module:
	@test -n "$(KDIR)" || { echo "error: no kernel headers found (apt-get install linux-headers-amd64)" >&2; exit 1; }
	$(KMAKE) modules

modules_install: module
	$(KMAKE) modules_install

# Build gates.  Each rebuilds from scratch so that every file is seen.
w1:
	@tools/gates w1

sparse:
	@tools/gates sparse

checkpatch:
	@tools/gates checkpatch

tests:
	$(MAKE) -C tests

# libudmabuf-ext (build/lib/) and the udmabuf-ext CLI (build/cli/):
# docs/library.md, docs/cli.md.
lib:
	$(MAKE) -C tools/lib

cli: lib
	$(MAKE) -C tools/cli

# Installation and packaging (docs/install.md): DESTDIR, PREFIX (default
# /usr/local); dkms-check is the DKMS round trip (also tests/host/dkms.sh);
# deb builds the Debian packages into build/deb/, deb-check installs, uses
# and purges them; compat-build builds against newer headers (docs/compat.md).
install install-module install-user uninstall dkms-source dkms-check deb deb-check \
compat-build:
	@$(MAKE) --no-print-directory -f tools/install/install.mk KDIR=$(KDIR) $@

check:
	@tools/check

# The main job: malloc'd frames through V4L2 and PRIME to a display.
demo:
	@tools/demo/run

# Benchmarks against the alternatives (build/bench/).
bench:
	@tools/bench/run

# A longer ioctl fuzzing campaign than the one make check runs.
fuzz:
	@tools/fuzz/run

# The whole suite on a sanitizer build of Debian's 6.1 kernel.
check-debug:
	@tools/debug-kernel/run

clean:
	-$(KMAKE) clean
	rm -rf $(O)
