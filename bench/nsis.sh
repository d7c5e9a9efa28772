#!/usr/bin/env bash
# bench/nsis.sh — how fast and how lean package nsis walks a large solid-LZMA NSIS installer,
# next to `7zz t` (issue 13: within 1.2x of 7zz t, memory flat).
#
# It builds, in a temporary folder it removes afterwards (KEEP=1 keeps it), an installer of
# MB megabytes of payload (default 300, the payload of bench/gen: six text-like files and one
# incompressible file) with makensis `SetCompressor /SOLID lzma` (INSTALLER=FILE skips this
# and uses FILE), then times RUNS rounds, each running back to back
#   nsiswalk (unpack/nsis/internal/nsiswalk: Walk + SHA-256 of every file),
#   rollgate inspect (the whole CLI path: signatures, PE facts, rules; --format json) and
#   7zz t,
# and prints the medians, the ratios to 7zz t and the peak RSS of each (/usr/bin/time -v).
# The machine may be shared: CPU seconds (user + system) are shown next to wall time, and
# the load average before and after.
#
# Needs: go, makensis (nsis), 7zz (7zip), GNU time.
# Usage: bench/nsis.sh (RUNS=3 MB=300 INSTALLER=FILE KEEP=1)
set -euo pipefail
RUNS=${RUNS:-3}
MB=${MB:-300}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-nsisbench.XXXXXX")
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi; }
trap cleanup EXIT
log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
for t in go makensis 7zz; do
	command -v "$t" >/dev/null || { echo "bench: $t not found (apt-get install -y nsis 7zip)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time not found (apt-get install -y time)" >&2; exit 2; }

log "work in $work; load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
(cd "$repo" && go build -o "$work/gen" ./bench/gen && go build -o "$work/nsiswalk" ./unpack/nsis/internal/nsiswalk &&
	CGO_ENABLED=0 go build -o "$work/rollgate" ./cmd/rollgate)
if [ -n "${INSTALLER:-}" ]; then
	cp "$INSTALLER" "$work/bench.exe"
else
"$work/gen" -dir "$work" -mb "$MB" >/dev/null
cat >"$work/bench.nsi" <<NSI
Unicode true
SetCompressor /SOLID lzma
SetCompressorDictSize 8
Name "Bench"
OutFile "$work/bench.exe"
InstallDir "\$PROGRAMFILES64\Bench"
Section
  SetOutPath "\$INSTDIR\data"
  File "$work/src/*.*"
SectionEnd
NSI
log "makensis (${MB} MB payload, solid LZMA)"
makensis -V1 "$work/bench.nsi" >/dev/null
rm -rf "$work/src"
fi
log "installer: $(stat -c %s "$work/bench.exe") bytes"

# run NAME CMD... — RUNS timed runs; appends "wall cpu rss_kb" lines to $work/NAME.times.
run() {
	local name=$1
	shift
	local i
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -v -o "$work/t" "$@" >/dev/null
		awk -F': ' '
			/Elapsed \(wall clock\)/ { n = split($2, a, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + a[i] }
			/User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { m = $2 }
			END { printf "%.2f %.2f %d\n", w, u + s, m }' "$work/t" >>"$work/$name.times"
	done
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
log "timing nsiswalk, rollgate inspect and 7zz t back to back, $RUNS rounds"
saved=$RUNS
RUNS=1
for ((r = 0; r < saved; r++)); do
	run nsiswalk "$work/nsiswalk" "$work/bench.exe"
	# inspect exits 0 (pass) or 1 (findings); anything else is a failure of the benchmark.
	run inspect sh -c '"$0" inspect --format json "$1" >/dev/null; [ $? -le 1 ]' "$work/rollgate" "$work/bench.exe"
	run 7zz 7zz t "$work/bench.exe"
done
RUNS=$saved
"$work/nsiswalk" "$work/bench.exe" >&2
printf '\n%-10s %10s %10s %12s\n' tool "wall s" "cpu s" "peak RSS MB"
for n in nsiswalk inspect 7zz; do
	w=$(cut -d' ' -f1 "$work/$n.times" | median)
	c=$(cut -d' ' -f2 "$work/$n.times" | median)
	m=$(cut -d' ' -f3 "$work/$n.times" | sort -n | tail -1)
	printf '%-10s %10s %10s %12d\n' "$n" "$w" "$c" $((m / 1024))
	eval "wall_$n=$w cpu_$n=$c"
done
awk -v a="$wall_nsiswalk" -v b="$wall_7zz" -v c="$cpu_nsiswalk" -v d="$cpu_7zz" \
	'BEGIN { printf "\nratio nsiswalk / 7zz t: wall %.2fx, cpu %.2fx (target: within 1.2x)\n", a / b, c / d }'
awk -v a="$wall_inspect" -v b="$wall_7zz" -v c="$cpu_inspect" -v d="$cpu_7zz" \
	'BEGIN { printf "ratio rollgate inspect / 7zz t: wall %.2fx, cpu %.2fx (target: within 1.2x)\n", a / b, c / d }'
# The same ratios round by round (each tool's run next to 7zz's in that round), median.
for n in nsiswalk inspect; do
	for col in 1 2; do
		paste -d' ' "$work/$n.times" "$work/7zz.times" | awk -v c="$col" '{ print $c / $(c + 3) }' | median
	done | paste -sd' ' | awk -v n="$n" '{ printf "median of per-round ratios %s / 7zz t: wall %.2fx, cpu %.2fx\n", n, $1, $2 }'
done
log "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
