#!/usr/bin/env bash
# Install everything qmgmt needs on a fresh Debian/Ubuntu machine (as root):
# the kernel build tool chain, qemu, udev, and a Python venv (.venv/) with
# pinned versions plus qctl installed from its wheel.  The pinned kernel source is
# fetched by scripts/fetch-base.sh (private apt configuration, sha256).
# Safe to re-run; it only installs what is missing.
. "$(dirname "$0")/lib.sh"
qm_no_args "$@"

pkgs=(
	build-essential flex bison bc libelf-dev libssl-dev cpio kmod xz-utils
	ccache git
	clang llvm
	# scripts/check-clang.sh: the kernel wants clang >= 17 (Debian 12: 19)
	clang-19 lld-19 llvm-19
	qemu-system-x86 udev
	iproute2 ethtool procps socat iputils-ping util-linux
	# AF_XDP through libxdp (qctl.xsk; its default XSK program ships here)
	libxdp1
	# the reference CNI plugins qmgmt-cni delegates to and chains with
	# (host-local IPAM, tuning), in the VM's tests; bpftool checks that a
	# pod's XDP program is gone
	containernetworking-plugins bpftool
	# a real container runtime on a qmgmt network (the sys lane): podman
	# with crun and its CNI backend; busybox-static is the test image
	podman crun conmon catatonit busybox-static
	# run-tests.sh lints every script
	shellcheck
	python3 python3-venv
)
missing=()
for p in "${pkgs[@]}"; do
	name=${p%%=*}
	if ! dpkg-query -W -f '${Status}' "$name" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || qm_die "need root to install: ${missing[*]}"
	qm_log "apt-get install ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

py=${PYTHON:-python3}
if [ ! -x "$QM_VENV/bin/python" ]; then
	qm_log "creating venv $QM_VENV"
	"$py" -m venv "$QM_VENV"
fi
stamp=$QM_VENV/.qmgmt-reqs
want=$(sha256sum < "$QM_ROOT/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	qm_log "installing Python requirements into $QM_VENV"
	"$QM_VENV/bin/pip" install -q --disable-pip-version-check -r "$QM_ROOT/requirements.txt"
	echo "$want" > "$stamp"
fi
# qctl is installed as users install it: a wheel built from tools/qctl,
# not an editable checkout.  The host tests and the guest (which runs this
# venv) import that installed copy; it is rebuilt when the sources change.
"$QM_ROOT/scripts/build-wheel.sh" --install "$QM_VENV"
qm_log "host ready"
