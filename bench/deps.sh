#!/bin/sh
# Installs what make bench needs beyond the kit (checker/deps.sh): the allocators it compares
# with glibc, from Debian's archive (as root), or prints the exact command to run.
set -eu
missing=""
for package in libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4; do
	dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $package"
done
[ -z "$missing" ] && exit 0
echo "osmem bench: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >&2
else
	echo "osmem bench: run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
