#!/usr/bin/env bash
# The main job (README's first command): set up the host, fetch and verify
# the pinned base, apply qmgmt, build the lean kernel, boot it under
# virtme-ng and run a qctl demo on netdevsim, then on the VM's virtio-net
# NICs (queue alloc, AF_XDP zero-copy).  Prints what happened.
. "$(dirname "$0")/lib.sh"
qm_no_args "$@"
t0=$(qm_now)
"$QM_ROOT/scripts/setup-host.sh"
"$QM_ROOT/scripts/fetch-base.sh" >/dev/null
"$QM_ROOT/scripts/apply.sh"
"$QM_ROOT/scripts/build-kernel.sh" --lane lean >/dev/null
"$QM_ROOT/scripts/vm-run.sh" --lane lean --vnet 4 --timeout 900 -- \
	env QM_DEMO_VNET=1 "$QM_ROOT/selftests/demo-in-vm.sh"
qm_log "main job done in $(qm_elapsed "$t0") s"
