#!/usr/bin/env bash
# Copy a test run's step times into docs/timings.md (between its
# "run-tests" markers), so the document shows what a script measured.
#
#   scripts/record-timings.sh [RESULTS_DIR]
#
# RESULTS_DIR is the results/ folder of the run (default: this clone's;
# for a fresh-clone CI run, that clone's).  scripts/run-tests.sh writes
# RESULTS_DIR/timings.md at the end of every run.
. "$(dirname "$0")/lib.sh"
src=$QM_RESULTS
case "${1:-}" in
"") ;;
-h|--help) qm_usage ;;
-*) qm_die "unknown argument: $1" ;;
*) src=$1 ;;
esac
[ -f "$src/timings.md" ] || qm_die "no timings.md in $src (run scripts/run-tests.sh)"
doc=$QM_ROOT/docs/timings.md
grep -q '^<!-- run-tests:begin -->$' "$doc" || qm_die "$doc has no run-tests markers"
tmp=$(mktemp)
awk -v f="$src/timings.md" '
	/^<!-- run-tests:begin -->$/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
	/^<!-- run-tests:end -->$/ { skip = 0 }
	!skip' "$doc" > "$tmp"
mv "$tmp" "$doc"
qm_log "docs/timings.md: $(head -1 "$src/timings.md")"
