#!/usr/bin/env bash
# Configure and build the kernel tree out of tree, with ccache.
#
#   scripts/build-kernel.sh [--lane lean|debug|sys]
#
# lean:  tinyconfig + Kconfig-fragments/{vm,qmgmt}.config
# debug: lean + Kconfig-fragments/debug.config (lockdep, KASAN, kmemleak,
#        ref trackers, fault injection)
# sys:   lean + Kconfig-fragments/{pm,container}.config (system sleep and
#        pm_test for the suspend/resume test; cgroups and seccomp for podman)
# Output: .work/build-<lane>/ (bzImage, modules, vmlinux), usable by
# scripts/vm-run.sh.  Prints the build time and ccache hit rate.
. "$(dirname "$0")/lib.sh"

lane=lean
while [ $# -gt 0 ]; do
	case "$1" in
	--lane) lane=${2:?}; shift 2 ;;
	-h|--help) qm_usage ;;
	*) qm_die "unknown argument: $1" ;;
	esac
done
frags=("$QM_ROOT/Kconfig-fragments/vm.config" "$QM_ROOT/Kconfig-fragments/qmgmt.config")
case "$lane" in
lean) ;;
debug) frags+=("$QM_ROOT/Kconfig-fragments/debug.config") ;;
sys) frags+=("$QM_ROOT/Kconfig-fragments/pm.config" "$QM_ROOT/Kconfig-fragments/container.config") ;;
*) qm_die "unknown lane '$lane' (lean, debug or sys)" ;;
esac

command -v ccache >/dev/null || qm_die "ccache not installed (scripts/setup-host.sh)"
[ -f "$KDIR/Makefile" ] || qm_die "no kernel tree at $KDIR; run scripts/fetch-base.sh"
out=$QM_WORK/build-$lane
mkdir -p "$out"
export CCACHE_BASEDIR=$QM_WORK
mk() { make -C "$KDIR" O="$out" ARCH=x86_64 CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }

# Configure into a scratch file; only replace .config when it changed, so an
# unchanged configuration never triggers a rebuild.  The configuration is
# resolved in .work/kconfig-<lane>, which is kept with the key of what it
# was resolved from: the fragments, the tree's Kconfig files and config
# snippets, kconfig itself and the tools Kconfig probes.  check-series.sh
# calls this once per patch, and most patches change none of that.
cfg=$(mktemp)
trap 'rm -f "$cfg"' EXIT
(
	kc=$QM_WORK/kconfig-$lane
	mkdir -p "$kc"
	paths=('*Kconfig*' kernel/configs arch/x86/configs scripts/kconfig)
	key=$({ cat "${frags[@]}"; git -C "$KDIR" ls-files -s -- "${paths[@]}"
		gcc --version; ld --version; pahole --version; } 2>&1 | sha256sum)
	# uncommitted changes to those files are not in the key: resolve
	# afresh and do not keep the result
	git -C "$KDIR" diff --quiet HEAD -- "${paths[@]}" 2>/dev/null || key=""
	if [ -n "$key" ] && [ -f "$kc/.config" ] && [ "$(cat "$kc/key" 2>/dev/null)" = "$key" ]; then
		cp "$kc/.config" "$cfg"
		exit 0
	fi
	rm -f "$kc/key"
	make -s -C "$KDIR" O="$kc" ARCH=x86_64 tinyconfig >/dev/null
	"$KDIR/scripts/kconfig/merge_config.sh" -m -O "$kc" "$kc/.config" "${frags[@]}" >/dev/null
	make -s -C "$KDIR" O="$kc" ARCH=x86_64 olddefconfig >/dev/null
	# Every fragment line must have survived olddefconfig.
	bad=0
	for f in "${frags[@]}"; do
		while IFS= read -r line; do
			case "$line" in
			CONFIG_*=n) k=${line%%=*}
				grep -qx "# $k is not set" "$kc/.config" || grep -qx "$k=n" "$kc/.config" ||
					! grep -q "^$k=" "$kc/.config" || { echo "  $line -> $(grep "^$k=" "$kc/.config")" >&2; bad=1; } ;;
			CONFIG_*) grep -qx "$line" "$kc/.config" ||
				{ echo "  $(basename "$f"): $line not in final .config" >&2; bad=1; } ;;
			esac
		done < "$f"
	done
	[ $bad = 0 ] || exit 1
	cp "$kc/.config" "$cfg"
	[ -z "$key" ] || echo "$key" > "$kc/key"
) || qm_die "Kconfig fragments do not resolve (see above)"
if ! cmp -s "$cfg" "$out/.config"; then
	cp "$cfg" "$out/.config"
	qm_log "config ($lane) changed: full rebuild expected"
fi

t0=$(qm_now)
ccache -z >/dev/null
qm_log "building $lane kernel in $out (ccache: $CCACHE_DIR)"
if ! mk -j"$(($(nproc) + 1))" bzImage modules > "$out/build.log" 2>&1; then
	grep -E 'error|Error' "$out/build.log" | head -30 >&2
	qm_die "kernel build failed; full log: $out/build.log"
fi
secs=$(qm_elapsed "$t0")
stats=$(ccache -s 2>/dev/null | grep -E '^ *(Hits|Misses):' | tr -s ' ' | tr '\n' ' ')
qm_log "built $lane kernel $(cat "$out/include/config/kernel.release") in ${secs} s; ccache: $stats"
mkdir -p "$QM_RESULTS"
printf '%s %s %s\n' "$lane" "$secs" "$(date -u +%FT%TZ)" >> "$QM_RESULTS/build-times.txt"
echo "$out"
