#!/usr/bin/env bash
# docker-up.sh — make a Docker engine answer on this machine, idempotently.
#
# Run as root on a fresh Debian bookworm machine (CI). If `docker version` already reaches an
# engine, nothing happens. Otherwise docker.io and debootstrap are installed when missing (waiting
# for another apt/dpkg run to release its lock) and dockerd is started in the background (there is
# no systemd here). Nothing is pulled from any registry: rollgate builds its images locally.
set -euo pipefail

LOG_PREFIX=docker-up
# shellcheck source=scripts/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"

engine_answers() { docker version >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
	log "engine already answers"
	exit 0
fi

# A remote engine (DOCKER_HOST tcp:// or ssh://) is not this script's to start: starting a
# local dockerd would not make it answer.
case "${DOCKER_HOST:-unix://}" in
unix://*) ;;
*)
	log "DOCKER_HOST=$DOCKER_HOST does not answer; start dockerd on that host (and check DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)"
	exit 1
	;;
esac

# fuser (psmisc) lets wait_dpkg see the lock; without it the lock would always look free.
ensure_commands fuser=psmisc docker=docker.io dockerd=docker.io debootstrap=debootstrap

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
