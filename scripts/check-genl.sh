#!/usr/bin/env bash
# Fail if generated netlink code in the applied tree drifts from its spec.
#
#   scripts/check-genl.sh [--fix]
#
# For every file the tree marks "YNL-GEN" and that is generated from a spec
# qmgmt changes (netdev.yaml and devlink.yaml at least), regenerate it with the tree's own
# tools/net/ynl/pyynl/ynl_gen_c.py (same mode and flags as ynl-regen.sh) into a
# scratch file of the same name and compare.  --fix runs the tree's
# tools/net/ynl/ynl-regen.sh -f instead; commit the result in the tree and
# run scripts/export.sh.
. "$(dirname "$0")/lib.sh"
fix=0
while [ $# -gt 0 ]; do
	case "$1" in
	--fix) fix=1; shift ;;
	-h|--help) qm_usage ;;
	*) qm_die "unknown argument: $1" ;;
	esac
done
QM_QCTL_SPECS="netdev devlink"      # qctl.spec.BUNDLED
py=$QM_VENV/bin/python
[ -x "$py" ] || py=python3
cd "$KDIR" || exit 1
if [ $fix = 1 ]; then
	PATH=$(dirname "$py"):$PATH tools/net/ynl/ynl-regen.sh -f
	for f in $QM_QCTL_SPECS; do
		cp "Documentation/netlink/specs/$f.yaml" "$QM_ROOT/tools/qctl/qctl/specs/$f.yaml"
	done
	"$py" -m qctl.spec compile
	exit 0
fi
mapfile -t specs < <( { printf 'Documentation/netlink/specs/%s.yaml\n' $QM_QCTL_SPECS;
	git diff --name-only refs/qmgmt/base HEAD -- Documentation/netlink/specs; } | sort -u)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0 n=0
for f in $(git grep --files-with-matches '^/\* YNL-GEN \(kernel\|uapi\|user\)'); do
	read -r -a params < <(git grep --no-line-number -B1 -h '/\* YNL-GEN' "$f" |
		sed 's@/\*\(.*\)\*/@\1@' | paste -sd' ')
	printf '%s\n' "${specs[@]}" | grep -qx "${params[0]}" || continue
	args=$(sed -n 's@/\* YNL-ARG \(.*\) \*/@\1@p' "$f")
	mkdir -p "$tmp/$n"
	# shellcheck disable=SC2086
	"$py" tools/net/ynl/pyynl/ynl_gen_c.py --mode "${params[2]}" --"${params[3]}" \
		--spec "${params[0]}" $args -o "$tmp/$n/$(basename "$f")" >/dev/null ||
		{ echo "generator failed for $f"; bad=1; continue; }
	if ! diff -u "$f" "$tmp/$n/$(basename "$f")"; then
		echo "DRIFT: $f does not match ${params[0]}"
		bad=1
	fi
	n=$((n + 1))
done
# qctl ships copies of the specs it speaks; they must be the patched tree's.
for f in $QM_QCTL_SPECS; do
	if ! cmp -s "Documentation/netlink/specs/$f.yaml" "$QM_ROOT/tools/qctl/qctl/specs/$f.yaml"; then
		echo "DRIFT: tools/qctl/qctl/specs/$f.yaml differs from the patched tree's $f.yaml"
		bad=1
	fi
done
# ... and its compiled form (what qctl loads) must be that copy's.
"$py" -m qctl.spec compile --check || bad=1
[ $n -gt 0 ] || qm_die "found no generated files for ${specs[*]}"
[ $bad = 0 ] || qm_die "generated netlink code drifted from its spec; run scripts/check-genl.sh --fix in the tree and export"
qm_log "generated netlink code in sync ($n files from ${#specs[@]} spec(s))"
