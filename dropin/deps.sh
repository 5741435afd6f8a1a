#!/bin/sh
# What make dropin runs besides the kit's own needs (checker/deps.sh): git, sqlite3. Installs
# them from Debian's archive when missing (as root), or prints the exact command to run.
set -eu
missing=""
for pair in git:git sqlite3:sqlite3; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
[ -z "$missing" ] && exit 0
echo "osmem dropin: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >&2
else
	echo "osmem dropin: run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
