#!/bin/sh
# Installs what the kit needs from Debian's archive when it is missing (as root), or prints the
# exact command to run. Python packages come from Debian too: PyPI is not used.
#
#   checker/deps.sh            what grading needs (make check)
#   checker/deps.sh --bench    and the allocators make bench compares with glibc
#   checker/deps.sh --dropin   and the real programs make dropin runs (git, sqlite3)
#   checker/deps.sh --test     and what only the kit's own tests need: chromium to render make
#                              show's page, clang and its libFuzzer runtime for make fuzz-lib,
#                              plus the --dropin programs (make test runs the drop-in on them)
set -eu
PYTHON=${PYTHON:-/usr/bin/python3}
missing=""

need_command() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }
need_module() { "$PYTHON" -c "import $1" >/dev/null 2>&1 || missing="$missing $2"; }
need_package() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || missing="$missing $1"
}

need_command gcc gcc
need_command make make
need_command nm binutils
need_command patch patch
need_command strace strace
need_command ltrace ltrace
need_command bwrap bubblewrap     # the sandbox every build and traced program runs in
need_command valgrind valgrind
[ -x "$PYTHON" ] || missing="$missing python3"
need_module pytest python3-pytest
need_module xdist python3-pytest-xdist
need_module hypothesis python3-hypothesis
for group in "$@"; do
	case "$group" in
	--test)
		need_command chromium chromium
		need_command clang clang
		need_package libclang-rt-14-dev
		need_command git git
		need_command sqlite3 sqlite3 ;;
	--dropin)
		need_command git git
		need_command sqlite3 sqlite3 ;;
	--bench)
		need_package libjemalloc2
		need_package libmimalloc2.0
		need_package libtcmalloc-minimal4 ;;
	*)
		echo "usage: checker/deps.sh [--test] [--bench] [--dropin]" >&2
		exit 2 ;;
	esac
done

[ -z "$missing" ] && exit 0
echo "osmem: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >&2
else
	echo "osmem: run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
