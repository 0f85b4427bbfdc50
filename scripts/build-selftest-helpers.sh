#!/usr/bin/env bash
# Build what the upstream Python selftests exec or load, next to the tests
# in the kernel tree (the VM sees the tree read-only):
#   net/lib/               xdp_helper (queues.py, AF_XDP binds) and the
#                          BPF objects (xdp_dummy/native/metadata.bpf.o:
#                          ping.py, xdp.py), by the selftests' own Makefile
#                          (clang, the tree's libbpf)
#   drivers/net/napi_id_helper  napi_id.py
# The distribution's UAPI headers suffice; no kernel headers install.
. "$(dirname "$0")/lib.sh"
qm_no_args "$@"
st=$KDIR/tools/testing/selftests
[ -d "$st" ] || qm_die "no selftests in $KDIR"
command -v clang >/dev/null || qm_die "clang missing (scripts/setup-host.sh installs it)"
make -s -C "$st/net/lib" -j"$(nproc)" >/dev/null ||
	qm_die "cannot build tools/testing/selftests/net/lib (xdp_helper, BPF objects)"
h=drivers/net/napi_id_helper
if [ ! -x "$st/$h" ] || [ "$st/$h.c" -nt "$st/$h" ]; then
	gcc -O2 -Wall -I"$st" -o "$st/$h" "$st/$h.c" ||
		qm_die "cannot build selftest helper $h"
fi
qm_log "selftest helpers built"
