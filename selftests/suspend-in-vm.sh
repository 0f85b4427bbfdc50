#!/usr/bin/env bash
# Runs INSIDE the VM of the sys lane (selftests/sys-lane.sh), after the
# podman suite: the virtio-net test bed, then
# drivers/net/hw/queue_alloc_suspend.py, which
# suspends and resumes every device.  The guest's root is virtio 9p, whose
# driver has no restore: after the resume no file may be opened, so the test
# runs in this one Python process, started before; its report goes to the
# kernel log (the virtio console behind stdout does not come back), and the
# process powers the guest off instead of exiting to an init that would
# read the dead root.  The host reads the report on the serial console
# (vm-run.sh with QM_VNG_VERBOSE=1).
set -u
case "${1:-}" in
""|--podman-first) ;;
-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
*) echo "suspend-in-vm.sh: unknown argument '$1' (--podman-first)" >&2; exit 2 ;;
esac
# first the podman suite; its reports are files (results/sys/), written
# before the suspend takes the 9p root away
if [ "${1:-}" = --podman-first ]; then
	"$QM_ROOT/selftests/run-in-vm.sh" --suite podman
	echo "podman suite rc $?" > "$QM_RESULTS/$QM_LANE/podman-rc.txt"
	sync
fi
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
# shellcheck source=virtio-env.sh
. "$QM_ROOT/selftests/virtio-env.sh"
qm_virtio_env || exit 1
cd "$QM_KDIR/tools/testing/selftests/drivers/net/hw" || exit 1
exec "$QM_VENV/bin/python" -c '
import ctypes, os, runpy, sys
libc = ctypes.CDLL(None, use_errno=True)
class Kmsg:
    """Lines into the kernel log, which the host reads on the serial
    console: the virtio console behind stdout does not come back from the
    resume, and a write to it blocks for good."""
    def __init__(self):
        self.fd, self.buf = os.open("/dev/kmsg", os.O_WRONLY), ""
    def write(self, text):
        self.buf += text
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            os.write(self.fd, ("qmgmt-suspend: " + line + "\n").encode())
        return len(text)
    def flush(self):
        pass
sys.stdout = sys.stderr = Kmsg()
rc = 1
try:
    runpy.run_path("queue_alloc_suspend.py", run_name="__main__")
except SystemExit as e:
    rc = e.code if isinstance(e.code, int) else 1
print(f"exit {rc}")
libc.reboot(0x4321FEDC)     # RB_POWER_OFF
'
