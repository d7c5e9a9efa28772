#!/usr/bin/env bash
# docker-up.sh — make a Docker engine answer on this machine, idempotently.
#
# Run as root on a fresh Debian bookworm machine (CI). If `docker version` already reaches an
# engine, nothing happens. Otherwise docker.io and debootstrap are installed when missing (waiting
# for another apt/dpkg run to release its lock) and dockerd is started in the background (there is
# no systemd here). Nothing is pulled from any registry: rollgate builds its images locally.
set -euo pipefail

log() { echo "docker-up: $*" >&2; }

engine_answers() { docker version >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
	log "engine already answers"
	exit 0
fi

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
	local attempt
	for attempt in 1 2 3 4 5; do
		wait_dpkg || true
		if DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 \
			--no-install-recommends "$@"; then
			return 0
		fi
		log "apt-get install failed (attempt $attempt); retrying"
		sleep 5
	done
	return 1
}

missing=()
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
	missing+=(docker.io)
fi
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
# fuser comes from psmisc; without it wait_dpkg would always think the lock is free.
if ! command -v fuser >/dev/null 2>&1; then
	missing+=(psmisc)
fi
if ((${#missing[@]} > 0)); then
	log "installing ${missing[*]}"
	# A fresh machine's package lists may be missing or stale: update once before installing.
	wait_dpkg || true
	apt-get update -o DPkg::Lock::Timeout=600
	apt_install "${missing[@]}"
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
	# A dockerd killed with its session leaves its pid file behind; a stale one stops the
	# next start.
	if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
		rm -f /var/run/docker.pid
	fi
	log "starting dockerd"
	# setsid: the engine must outlive the shell (and process group) that started it.
	setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
fi

for ((i = 0; i < 60; i++)); do
	if engine_answers; then
		log "engine answers after ${i}s"
		exit 0
	fi
	sleep 1
done
log "engine did not answer within 60s; see /var/log/dockerd.log"
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
