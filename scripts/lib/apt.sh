# shellcheck shell=bash
# apt.sh — installing Debian packages from scripts that may run beside another apt (CI's
# machine may still be installing at boot). Sourced by docker-up.sh and test-tools.sh.

log() { echo "${LOG_PREFIX:-apt}: $*" >&2; }

# wait_dpkg waits (up to 15 minutes) until no other process holds the dpkg/apt locks.
wait_dpkg() {
	local i
	for ((i = 0; i < 900; i++)); do
		if ! fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock \
			>/dev/null 2>&1; then
			return 0
		fi
		((i % 30 == 0)) && log "waiting for the dpkg lock"
		sleep 1
	done
	log "dpkg lock still held after 15 minutes"
	return 1
}

apt_install() {
	local attempt rc=1 policy=/usr/sbin/policy-rc.d made=""
	# No package installed here starts a service (openssh-server would listen on port 22):
	# the scripts start what the tests need themselves (dockerd, or sshd on loopback in a test).
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made=1
	fi
	for attempt in 1 2 3 4 5; do
		wait_dpkg || true
		if DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 \
			--no-install-recommends "$@"; then
			rc=0
			break
		fi
		log "apt-get install failed (attempt $attempt); retrying"
		sleep 5
	done
	[ -z "$made" ] || rm -f "$policy"
	return "$rc"
}

# ensure_commands installs the packages whose commands are missing: ensure_commands CMD=PKG...
# The package lists are updated once, first: a fresh machine's may be missing or stale.
ensure_commands() {
	local pair missing=()
	for pair in "$@"; do
		command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
	done
	((${#missing[@]} > 0)) || return 0
	log "installing ${missing[*]}"
	wait_dpkg || true
	apt-get update -o DPkg::Lock::Timeout=600
	apt_install "${missing[@]}"
}
