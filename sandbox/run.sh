#!/bin/sh
# rollgate guest run script: run.sh INSTALLER PROGRAM_TIMEOUT_S TRACE_CAP_BYTES [PROGRAM...]
#
# INSTALLER and PROGRAMs are Windows paths. stdout carries "rollgate: ..." markers the host
# reads; stderr carries wine's debug trace, capped at TRACE_CAP_BYTES (the first bytes are kept,
# the rest is read and dropped so that nothing blocks or dies of SIGPIPE).
set -u
inst=$1 pt=$2 cap=$3
shift 3

# The sinkhole builds the namespace's only route; wait (up to 10 s) for an interface besides lo.
i=0
while [ "$i" -lt 100 ]; do
	up=0
	for n in /sys/class/net/*; do
		[ "${n##*/}" = lo ] || up=1
	done
	[ "$up" = 1 ] && break
	sleep 0.1
	i=$((i + 1))
done
echo "rollgate: network $([ "$up" = 1 ] && echo ready || echo missing)"

# capped CMD...: run CMD with its stderr capped; its exit code is left in $rc.
capped() {
	rm -f /tmp/rollgate.rc
	{ { "$@" 2>&1 1>&3 3>&-; echo "$?" >/tmp/rollgate.rc; } | { head -c "$cap" >&2; cat >/dev/null; }; } 3>&1
	rc=$(cat /tmp/rollgate.rc 2>/dev/null || echo 255)
}

echo "rollgate: install start"
case "$inst" in
*.msi | *.MSI) capped wine64 msiexec /i "$inst" /qn ;;
*) capped wine64 "$inst" ;;
esac
echo "rollgate: install exit $rc"
timeout 60 wineserver -w

for p in "$@"; do
	printf "rollgate: program start %s\n" "$p"
	capped timeout -s KILL "$pt" wine64 "$p"
	echo "rollgate: program exit $rc"
	timeout -s KILL 5 wineserver -w || wineserver -k
done
wineserver -k 2>/dev/null
echo "rollgate: done"
