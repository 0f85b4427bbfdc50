#!/usr/bin/env bash
# Make a QEMU with the igb device (82576) available, beside the system's.
#
#   scripts/fetch-qemu.sh
#
# Debian 12's qemu is 7.2, which has no igb.  This downloads qemu-system-x86
# and its two data packages of the version pinned below from
# bookworm-backports through a private apt configuration (the system's apt
# sources stay untouched), checks their sha256 and extracts them into
# $QM_CACHE/qemu-<version>/.  Prints the path of its qemu-system-x86_64.
# That qemu must run with QEMU_MODULE_DIR at its own (empty) module folder,
# or it aborts loading the system qemu's modules, and with -L at its own
# data folder.  Nothing calls this yet: the igb lane will.
. "$(dirname "$0")/lib.sh"
qm_no_args "$@"

QEMU_SUITE=bookworm-backports
QEMU_VERSION=1:10.0.2+ds-2+deb13u1~bpo12+1
QEMU_PKGS=(qemu-system-x86 qemu-system-common qemu-system-data)

dest=$QM_CACHE/qemu-${QEMU_VERSION#*:}
bin=$dest/usr/bin/qemu-system-x86_64
if [ ! -x "$bin" ]; then
	apt=$QM_CACHE/apt-qemu
	mkdir -p "$apt/lists/partial" "$apt/archives/partial"
	mirror=$(qm_debian_mirror) || qm_die "no Debian mirror in /etc/apt sources"
	printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
		"$mirror" "$QEMU_SUITE" > "$apt/sources.list"
	o=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o Dir::State::status=/dev/null
		-o APT::Sandbox::User=root)
	qm_log "downloading qemu $QEMU_VERSION ($QEMU_SUITE, private apt config)"
	apt-get -qq "${o[@]}" update >&2 || qm_die "apt-get update of $QEMU_SUITE failed"
	rm -f "$apt"/*.deb
	(cd "$apt" && apt-get -qq "${o[@]}" download "${QEMU_PKGS[@]/%/=$QEMU_VERSION}") >&2 ||
		qm_die "cannot download qemu $QEMU_VERSION from $QEMU_SUITE"
	# apt checked each .deb against the signed index it fetched
	tmp=$dest.part
	rm -rf "$tmp"
	for deb in "$apt"/*.deb; do
		dpkg-deb -x "$deb" "$tmp" || qm_die "cannot extract $deb"
	done
	mkdir -p "$tmp/usr/lib/x86_64-linux-gnu/qemu"
	rm -f "$apt"/*.deb
	mv "$tmp" "$dest"
fi
QEMU_MODULE_DIR=$dest/usr/lib/x86_64-linux-gnu/qemu "$bin" -device igb,help >/dev/null 2>&1 ||
	qm_die "$bin has no igb device"
echo "$bin"
