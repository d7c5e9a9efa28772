#!/bin/sh
# rollgate guest run script:
#   run.sh INSTALLER PROGRAM_TIMEOUT_S TRACE_CAP_BYTES OFFSETS SPEED RERUN_TIMEOUT_S [PROGRAM...]
#
# INSTALLER and PROGRAMs are Windows paths. OFFSETS is a comma-separated list of clock offsets
# in seconds ("-" for none): after the install and a first run of every program on the real
# clock, every program runs again once per offset under libfaketime, its wall clock moved
# forward by the offset and every clock it reads (wall, monotonic, and so wineserver's timeout
# arithmetic) running SPEED times fast, each for RERUN_TIMEOUT_S real seconds, in the same
# prefix (what the first run left behind is kept). File times stay real (NO_FAKE_STAT): with
# faked ones wine sees wine.inf as newer than the prefix and rebuilds the prefix (~50 s), and a
# program's own stamp file ages as it would on a real machine.
#
# stdout carries "rollgate: ..." markers the host reads; stderr carries wine's debug trace,
# capped at TRACE_CAP_BYTES (the first bytes are kept, the rest is read and dropped so that
# nothing blocks or dies of SIGPIPE). Phase markers, on both streams, start with the run's
# nonce (read from /rollgate/nonce, which is removed before any wine process starts), so a
# program printing marker-like lines cannot move a phase boundary:
#   rollgate: NONCE phase install|run OFFSET_S EPOCH_MS
# Copies of the registry hives (system.reg, user.reg) go to /rollgate/reg/PHASE-OFFSET-*.reg
# after each phase, once wineserver has exited and saved them; the files each run phase
# changed in the C: drive are listed in /rollgate/reg/run-OFFSET-files.txt.
set -u
inst=$1 pt=$2 cap=$3 offsets=$4 speed=$5 rpt=$6
shift 6
nonce=$(cat /rollgate/nonce 2>/dev/null || echo none)
rm -f /rollgate/nonce
snap=/rollgate/reg
mkdir -p "$snap"
faketime_lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
# The preload names the library through ld.so's $LIB, so 32-bit wine processes get the i386
# build and 64-bit ones the amd64 build (each loader skips the other's).
faketime_preload='/usr/$LIB/faketime/libfaketimeMT.so.1'

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

# cappedfor SECONDS CMD...: capped, with CMD killed after SECONDS. Every wine process CMD
# started (wineserver, services, a crash handler) holds the trace pipe open, so the pipe can
# outlive CMD: SECONDS + 10 after the start, wineserver -k ends them all (and so the pipe).
cappedfor() {
	t=$1
	shift
	capped timeout -s KILL "$t" "$@" &
	job=$!
	(sleep $((t + 10)) && wineserver -k 2>/dev/null) &
	dog=$!
	wait "$job"
	kill "$dog" 2>/dev/null
	rc=$(cat /tmp/rollgate.rc 2>/dev/null || echo 255)
}

# phase NAME OFFSET: mark the start of a phase on stdout and stderr, and leave a file whose
# mtime marks it (see written).
phase() {
	touch "$snap/mark-$1-$2"
	m="rollgate: $nonce phase $1 $2 $(date +%s%3N)"
	echo "$m"
	echo "$m" >&2
}

# hives NAME OFFSET: keep a copy of the registry hives as they are now, and print each copy's
# SHA-256 (a program running later as the same user could rewrite the copy; the host checks).
hives() {
	for h in system user; do
		cp "$WINEPREFIX/$h.reg" "$snap/$1-$2-$h.reg" 2>/dev/null &&
			echo "rollgate: $nonce hive $1-$2-$h $(sha256sum <"$snap/$1-$2-$h.reg" | cut -d' ' -f1)"
	done
}

# written NAME OFFSET: list (capped) the files in the prefix's C: drive changed since the
# phase began, so the host can tell which rerun wrote a file.
written() {
	find "$WINEPREFIX/drive_c" -xdev -type f -newer "$snap/mark-$1-$2" 2>/dev/null |
		head -c 1048576 >"$snap/$1-$2-files.txt"
}

# settle: wait (bounded) for wineserver to exit, so that it has saved the registry.
settle() {
	timeout -s KILL "$1" wineserver -w || wineserver -k 2>/dev/null
	timeout -s KILL 5 wineserver -w 2>/dev/null
}

hives base 0
phase install 0
echo "rollgate: install start"
case "$inst" in
*.msi | *.MSI) capped wine64 msiexec /i "$inst" /qn ;;
*installer-nsis.exe) capped wine64 "$inst" /S ;;
*installer-inno.exe) capped wine64 "$inst" /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /SP- ;;
*installer-burn.exe) capped wine64 "$inst" /quiet /norestart ;;
*installer-installshield.exe) capped wine64 "$inst" /s /v/qn ;;
*) capped wine64 "$inst" ;;
esac
echo "rollgate: install exit $rc"
settle 60
hives install 0

# runall OFFSET TIMEOUT [ENV...]: run every program once.
runall() {
	off=$1 t=$2
	shift 2
	phase run "$off"
	i=0
	while [ "$i" -lt "$nprogs" ]; do
		i=$((i + 1))
		eval "p=\${prog_$i}"
		printf "rollgate: program start %s\n" "$p"
		cappedfor "$t" env "$@" wine64 "$p"
		echo "rollgate: program exit $rc"
		settle 5
	done
	hives run "$off"
	written run "$off"
}

# The programs, kept in numbered variables (a Windows path may hold spaces).
nprogs=0
for p in "$@"; do
	nprogs=$((nprogs + 1))
	eval "prog_$nprogs=\$p"
done

if [ "$nprogs" -gt 0 ]; then
	runall 0 "$pt"
	if [ "$offsets" != - ]; then
		oldifs=$IFS
		IFS=,
		set -- $offsets
		IFS=$oldifs
		for off in "$@"; do
			if [ -r "$faketime_lib" ]; then
				runall "$off" "$rpt" LD_PRELOAD="$faketime_preload" FAKETIME="+$off x$speed" FAKETIME_DONT_RESET=1 NO_FAKE_STAT=1
			else
				echo "rollgate: faketime missing"
			fi
		done
	fi
fi
wineserver -k 2>/dev/null
echo "rollgate: done"
