# SPDX-License-Identifier: GPL-2.0-only
#
# Installation and packaging of udmabuf-ext; the top-level Makefile hands the
# targets below to this file.  See docs/install.md.
#
#   make install [DESTDIR=...] [PREFIX=/usr/local] [KDIR=...]
#       install-module: the module, through kbuild's modules_install
#           (INSTALL_MOD_PATH=$(DESTDIR) when DESTDIR is set; depmod when not);
#       install-user: libudmabuf-ext (shared, static, .pc, headers including
#           the uapi header, man page), the udmabuf-ext CLI and its man page,
#           and the udev rule (UDEVRULESDIR).
#   make uninstall      the reverse (the module of KDIR's kernel too)
#   make dkms-source    a clean DKMS source tree in build/dkms/
#   make dkms-check     dkms add, build, install, modprobe in the guest,
#                       remove (tests/host/dkms.sh; root, dkms installed)
#   make deb            dpkg-buildpackage -us -uc -b on a copy of the tree;
#                       the .debs land in build/deb/
#   make deb-check      build, apt-get install, use (also in the guest) and
#                       purge the packages (tools/install/deb-check; root)
#   make compat-build   build the module against Debian 12's newest other
#                       kernel headers, unpacked, not installed
#                       (tools/install/compat-build; docs/compat.md)

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../..)
VERSION := $(shell cat $(TOP)/VERSION)
KDIR ?= $(shell $(TOP)/tools/kernels kdir 2>/dev/null)
# The release modules_install installs for (in Debian's headers, "make
# kernelrelease" says 6.1.N, not 6.1.0-N-amd64).
KVER := $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
PREFIX ?= /usr/local
# udev reads the packages' rules (pkg-config udev's udevdir: /lib/udev on
# Debian 12, /usr/lib/udev elsewhere) and the administrator's in
# /etc/udev/rules.d, never $(PREFIX)/lib/udev: a /usr/local install goes to
# /etc.
ifeq ($(PREFIX),/usr)
UDEVRULESDIR ?= $(or $(shell pkg-config --variable=udevdir udev 2>/dev/null),/usr/lib/udev)/rules.d
else
UDEVRULESDIR ?= /etc/udev/rules.d
endif
UDEV_RULE := 60-udmabuf-ext.rules
INSTALL ?= install
DKMS_SRC := $(TOP)/build/dkms/udmabuf-ext-$(VERSION)
# What DKMS (and the -dkms package) ships: the module's sources only.
MODULE_FILES := $(sort $(wildcard $(TOP)/udmabuf-ext/*.[ch])) $(TOP)/udmabuf-ext/Kbuild
MODULE_FILES := $(filter-out %.mod.c,$(MODULE_FILES))
# Debian's kernels sign modules at modules_install time with a key only the
# kernel build has; without it sign-file prints OpenSSL errors: don't try.
# (Secure Boot machines need the module signed with an enrolled key: DKMS
# does that with its MOK, see docs/install.md.)
NO_SIGN := CONFIG_MODULE_SIG_ALL=

.PHONY: install install-module install-user uninstall dkms-source dkms-check deb \
	deb-check compat-build

install: install-module install-user

install-module:
	@test -n "$(KDIR)" || { echo "error: no kernel headers found (apt-get install linux-headers-amd64)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP)/udmabuf-ext modules
	$(MAKE) -C $(KDIR) M=$(TOP)/udmabuf-ext modules_install \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) $(NO_SIGN)
ifeq ($(DESTDIR),)
	depmod -a $(KVER)
endif

install-user:
	$(MAKE) -C $(TOP)/tools/lib install
	$(MAKE) -C $(TOP)/tools/cli install
	$(INSTALL) -d $(DESTDIR)$(UDEVRULESDIR)
	$(INSTALL) -m 0644 $(TOP)/tools/install/$(UDEV_RULE) $(DESTDIR)$(UDEVRULESDIR)/
ifeq ($(DESTDIR),)
	@getent group udmabuf >/dev/null || \
		echo "note: create the group the udev rule names: groupadd --system udmabuf" \
		"(then: udevadm control --reload; udevadm trigger --subsystem-match=misc)"
	-ldconfig
endif

uninstall:
	$(MAKE) -C $(TOP)/tools/lib uninstall
	$(MAKE) -C $(TOP)/tools/cli uninstall
	rm -f $(DESTDIR)$(UDEVRULESDIR)/$(UDEV_RULE)
	rm -f $(DESTDIR)/lib/modules/$(KVER)/extra/udmabuf_ext.ko
ifeq ($(DESTDIR),)
	depmod -a $(KVER)
endif

# A clean copy of the module's sources for "dkms add" (which copies the
# directory it is given into /usr/src/udmabuf-ext-$(VERSION)).
dkms-source:
	rm -rf $(DKMS_SRC)
	$(INSTALL) -d $(DKMS_SRC)/udmabuf-ext $(DKMS_SRC)/uapi
	$(INSTALL) -m 0644 $(MODULE_FILES) $(DKMS_SRC)/udmabuf-ext/
	$(INSTALL) -m 0644 $(TOP)/uapi/udmabuf-ext.h $(DKMS_SRC)/uapi/
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' $(TOP)/dkms.conf \
		>$(DKMS_SRC)/dkms.conf

dkms-check:
	$(TOP)/tests/host/dkms.sh

# dpkg-buildpackage writes its results into the parent directory: build from
# a copy (without build/, .git and what .gitignore lists) so that they land
# in build/deb/ and nothing else is touched.
DEB_DIR := $(TOP)/build/deb
deb:
	rm -rf $(DEB_DIR)
	$(INSTALL) -d $(DEB_DIR)/src
	tar -C $(TOP) --exclude=./build --exclude=./.git --exclude-vcs-ignores -cf - . | \
		tar -C $(DEB_DIR)/src -xf -
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b
	@ls -1 $(DEB_DIR)/*.deb

deb-check:
	$(TOP)/tools/install/deb-check

compat-build:
	$(TOP)/tools/install/compat-build
