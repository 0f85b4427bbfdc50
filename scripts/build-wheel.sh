#!/usr/bin/env bash
# Build qctl's wheel and install it as a user would: from the wheel, never
# an editable checkout.
#
#   scripts/build-wheel.sh [--install VENV] [--fresh-venv]
#
# The wheel goes to .work/dist/ and is rebuilt only when a file it is built
# from changed (the key is the content of tools/qctl's sources).
# --install VENV  install it into VENV without dependencies (the project's
#                 venv pins them in requirements.txt); a no-op when VENV
#                 already has this very wheel
# --fresh-venv    install it with its dependencies into a new, empty venv
#                 and run the installed commands there: qctl --help,
#                 qctl run --help, import of every module the source tree
#                 has (qctl.pktio included), the reflector's refusal to run
#                 without qctl run, and qmgmt-cni VERSION
. "$(dirname "$0")/lib.sh"

install=() fresh=0
while [ $# -gt 0 ]; do
	case "$1" in
	--install) install+=("${2:?--install needs a venv}"); shift 2 ;;
	--fresh-venv) fresh=1; shift ;;
	-h|--help) qm_usage ;;
	*) qm_die "unknown argument: $1" ;;
	esac
done

src=$QM_ROOT/tools/qctl
dist=$QM_WORK/dist
py=$QM_VENV/bin/python
[ -x "$py" ] || py=python3
# what the wheel is built from: the package, its metadata and README
key=$(cd "$src" && find pyproject.toml README.md qctl -type f \
	! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z |
	xargs -0 sha256sum | sha256sum | cut -c1-16)
whl=$(ls "$dist"/qctl-*-py3-none-any.whl 2>/dev/null | head -1 || true)
if [ -z "$whl" ] || [ "$(cat "$dist/key" 2>/dev/null)" != "$key" ]; then
	rm -rf "$dist"; mkdir -p "$dist"
	build=$(mktemp -d)
	trap 'rm -rf "$build"' EXIT
	# build from a copy: setuptools leaves build/ and *.egg-info behind
	(cd "$src" && find pyproject.toml README.md qctl ! -path '*/__pycache__*' -print0 |
		cpio -0pdm --quiet "$build/src")
	"$py" -m pip wheel -q --disable-pip-version-check --no-deps -w "$dist" "$build/src" >&2 ||
		qm_die "building the qctl wheel failed"
	echo "$key" > "$dist/key"
	whl=$(ls "$dist"/qctl-*-py3-none-any.whl)
	qm_log "built $(basename "$whl")"
fi

for venv in "${install[@]}"; do
	stamp=$venv/.qmgmt-qctl-wheel
	[ "$(cat "$stamp" 2>/dev/null)" = "$key" ] && continue
	"$venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$whl" ||
		qm_die "installing $whl into $venv failed"
	echo "$key" > "$stamp"
	qm_log "installed $(basename "$whl") into $venv"
done

if [ $fresh = 1 ]; then
	v=$(mktemp -d)/venv
	trap 'rm -rf "$(dirname "$v")"' EXIT
	python3 -m venv "$v"
	# the wheel's own dependency ranges, resolved at the versions CI pins
	"$v/bin/pip" install -q --disable-pip-version-check -c "$QM_ROOT/requirements.txt" "$whl" ||
		qm_die "pip install of the wheel into a fresh venv failed"
	mods=$(cd "$src" && find qctl -name '*.py' ! -name '__main__.py' | sed 's/\.py$//; s/\/__init__$//; s/\//./g' | sort)
	cd "$v" || exit 1
	"$v/bin/qctl" --help >/dev/null || qm_die "installed: qctl --help failed"
	"$v/bin/qctl" run --help >/dev/null || qm_die "installed: qctl run --help failed"
	# shellcheck disable=SC2086
	"$v/bin/python" - $mods <<'PY' || qm_die "installed: a module of the source tree does not import"
import importlib, sys
for m in sys.argv[1:]:
    mod = importlib.import_module(m)
    assert "site-packages" in (mod.__file__ or ""), f"{m} imported from {mod.__file__}"
print(f"{len(sys.argv) - 1} modules import from the installed wheel")
PY
	out=$(QMGMT_AFXDP='' "$v/bin/python" -m qctl.pktio.reflector 2>&1) && qm_die "reflector ran without qctl run"
	grep -q 'start the function with `qctl run`' <<<"$out" || qm_die "reflector: unexpected output: $out"
	echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION "$v/bin/qmgmt-cni" |
		grep -q '"supportedVersions"' || qm_die "installed: qmgmt-cni VERSION failed"
	qm_log "fresh venv: $(basename "$whl") installs with its dependencies; qctl, qctl run, qmgmt-cni and every module work"
fi
echo "$whl"
