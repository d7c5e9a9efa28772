#!/usr/bin/env bash
# bench/run.sh — how fast and how lean `rollgate inspect` and `rollgate verify` are on a large
# MSZIP installer, next to the tools a person would otherwise use (issue 5).
#
# It builds, in a temporary folder that it removes afterwards (KEEP=1 keeps it):
#   A.msi  ≈ MB megabytes of payload (default 300: six 40 MB text-like files, one 60 MB
#          incompressible file; see bench/gen), MSZIP-compressed by wixl in one cabinet;
#   B.msi  the same with 7 bytes of one file changed;
# then times, RUNS times each (medians; hyperfine when installed, else a date +%s.%N loop):
#   rollgate inspect A, 7zz x A, msiextract A, sha256sum over the extracted payload,
#   diffoscope A B (DIFFOSCOPE_RUNS times, once if a run takes more than 5 minutes; DIFFOSCOPE=0
#   skips it), and rollgate baseline record A + rollgate verify B;
# and measures rollgate's peak RSS (/usr/bin/time) on A and on installers of FLAT_MB payloads
# (default "75 150 300"), which must stay flat; GOBENCH=1 (the default) also runs the Go
# decoder benchmark BenchmarkMSZIPParallel (package mszip against compress/flate and
# klauspost/compress). It ends with a table a person reads.
#
# Needs: go, wixl, msiextract (msitools), 7zz (7zip), GNU time; optional hyperfine, diffoscope:
#   apt-get install -y wixl msitools 7zip time hyperfine diffoscope
# Usage: bench/run.sh        (RUNS=3 MB=300 FLAT_MB="75 150 300" DIFFOSCOPE_RUNS=3 are the defaults;
#        ROLLGATE=path uses a built binary instead of building ./cmd/rollgate; GOFLAGS applies)
#
# The machine may be shared: besides wall-clock medians the table shows CPU seconds (user +
# system, mean over the runs), which load moves much less. A parallel program finishes in
# less wall time than its CPU time; a single-threaded one cannot.
set -euo pipefail

RUNS=${RUNS:-3}
MB=${MB:-300}
FLAT_MB=${FLAT_MB:-"75 150 300"}
DIFFOSCOPE=${DIFFOSCOPE:-1}
DIFFOSCOPE_RUNS=${DIFFOSCOPE_RUNS:-3}
DIFFOSCOPE_SLOW=300 # seconds: a slower diffoscope run is not repeated
GOBENCH=${GOBENCH:-1}

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-bench.XXXXXX")
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi; }
trap cleanup EXIT

log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

for t in go wixl msiextract 7zz sha256sum; do
	have "$t" || { echo "bench: $t not found (apt-get install -y wixl msitools 7zip)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time not found (apt-get install -y time)" >&2; exit 2; }
if [ "$DIFFOSCOPE" = 1 ] && ! have diffoscope; then
	log "diffoscope not installed (apt-get install -y diffoscope): skipped"
	DIFFOSCOPE=0
fi

load_start=$(loadavg)
log "work in $work; load average $load_start; $(nproc) CPUs"
(cd "$repo" && go build -o "$work/gen" ./bench/gen)
if [ -n "${ROLLGATE:-}" ]; then
	cp "$ROLLGATE" "$work/rollgate"
else
	(cd "$repo" && go build -o "$work/rollgate" ./cmd/rollgate)
fi
rg=$work/rollgate

# build_msi MB FLIP OUT: generate the payload, wixl it, drop the payload.
build_msi() {
	local mb=$1 flip=$2 out=$3 dir
	dir=$work/gen-$mb-$flip
	"$work/gen" -dir "$dir" -mb "$mb" $([ "$flip" = 1 ] && echo -flip)
	(cd "$dir" && wixl -a x64 -D Src=src -o "$out" bench.wxs)
	rm -rf "$dir"
}

log "building A.msi and B.msi ($MB MB payload each)"
build_msi "$MB" 0 "$work/A.msi"
build_msi "$MB" 1 "$work/B.msi"
sizeA=$(stat -c %s "$work/A.msi")

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A med cpu
# timeit KEY RUNS PREPARE COMMAND: median wall seconds and mean CPU seconds (user + system) of
# COMMAND (exit status ignored: diffoscope exits 1 when it finds differences), PREPARE run
# before each run and not timed.
timeit() {
	local key=$1 runs=$2 prep=$3 cmd=$4 i
	log "timing $key ($runs runs): $cmd"
	if have hyperfine && [ -z "${NO_HYPERFINE:-}" ]; then
		hyperfine --style none --runs "$runs" -i --prepare "$prep" --export-json "$work/$key.json" -- "$cmd" >/dev/null 2>&1
		field() { grep -o "\"$1\": *[0-9.e+-]*" "$work/$key.json" | head -1 | sed 's/.*: *//'; }
		med[$key]=$(field median)
		cpu[$key]=$(echo "$(field user) + $(field system)" | bc -l)
	else
		: >"$work/$key.times"
		for ((i = 0; i < runs; i++)); do
			bash -c "$prep"
			/usr/bin/time -f '%e %U %S' -a -o "$work/$key.times" bash -c "$cmd" >/dev/null 2>&1 || true
		done
		# GNU time adds "Command exited with non-zero status N" lines: keep the numbers.
		med[$key]=$(awk '/^[0-9]/ {print $1}' "$work/$key.times" | median)
		cpu[$key]=$(awk '/^[0-9]/ {s += $2 + $3; n++} END {print s / n}' "$work/$key.times")
	fi
	log "  median ${med[$key]} s wall, ${cpu[$key]} s CPU"
}

cd "$work"
timeit inspect "$RUNS" "true" "$rg inspect -q A.msi >/dev/null"
timeit 7zz "$RUNS" "rm -rf x7" "7zz x -y -ox7 A.msi >/dev/null"
timeit msiextract "$RUNS" "rm -rf xm && mkdir xm" "msiextract -C xm A.msi >/dev/null"
rm -rf x7 xm && mkdir xm && msiextract -C xm A.msi >/dev/null
timeit sha256sum "$RUNS" "true" "find xm -type f -print0 | xargs -0 sha256sum >/dev/null"
rm -rf xm x7
timeit verify "$RUNS" "rm -rf bl" "$rg baseline record -q A.msi --baseline bl >/dev/null && $rg verify -q B.msi --baseline bl >/dev/null"
"$rg" verify -q B.msi --baseline bl --format json >verify.json || true
changed=$(grep -c '"rule": *"file.changed"' verify.json || true)

diffo_note=""
if [ "$DIFFOSCOPE" = 1 ]; then
	# By hand, not timeit: the first run decides whether to repeat (it may take minutes).
	: >diffoscope.times
	for ((i = 0; i < DIFFOSCOPE_RUNS; i++)); do
		log "diffoscope A.msi B.msi, run $((i + 1)) of $DIFFOSCOPE_RUNS"
		rc=0
		/usr/bin/time -f '%e %U %S' -a -o diffoscope.times diffoscope --no-progress --text diffoscope.txt A.msi B.msi >/dev/null 2>diffoscope.err || rc=$?
		last=$(awk '/^[0-9]/ {t = $1} END {print t}' diffoscope.times)
		log "  $last s (exit status $rc: 1 means it found the difference)"
		if [ "$rc" -gt 1 ]; then
			log "diffoscope failed: $(tail -3 diffoscope.err)"
			DIFFOSCOPE=0
			break
		fi
		if [ "$(echo "$last > $DIFFOSCOPE_SLOW" | bc -l)" = 1 ]; then
			diffo_note="a run takes more than $DIFFOSCOPE_SLOW s: not repeated; "
			break
		fi
	done
	n=$(grep -c '^[0-9]' diffoscope.times || true)
	med[diffoscope]=$(awk '/^[0-9]/ {print $1}' diffoscope.times | median)
	cpu[diffoscope]=$(awk '/^[0-9]/ {s += $2 + $3; n++} END {print s / n}' diffoscope.times)
	diffo_note="${diffo_note}median of $n run(s)"
fi

# peak RSS in MiB of a rollgate command
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'; }
rss_inspect=$(rss "$rg" inspect -q A.msi)
rss_verify=$(rss "$rg" verify -q B.msi --baseline bl)

declare -A flat
for mb in $FLAT_MB; do
	if [ "$mb" = "$MB" ]; then
		f=A.msi
	else
		log "building a $mb MB installer"
		build_msi "$mb" 0 "$work/F$mb.msi"
		f=F$mb.msi
	fi
	flat[$mb]="$(rss "$rg" inspect -q "$f") MiB, $(stat -c %s "$f" | awk '{printf "%.0f", $1/1e6}') MB msi"
	[ "$f" = A.msi ] || rm -f "$f"
done

gobench=""
if [ "$GOBENCH" = 1 ]; then
	log "go test -bench MSZIPParallel ./unpack/cab/mszip"
	gobench=$(cd "$repo" && go test -run '^$' -bench MSZIPParallel -benchtime 10x ./unpack/cab/mszip 2>&1 |
		awk '/^Benchmark/ {name = $1; sub(/^BenchmarkMSZIPParallel\//, "", name); sub(/-[0-9]+$/, "", name); printf "  %-30s %9s MB/s %9s cpu-MB/s\n", name, $5, $7}')
fi

load_end=$(loadavg)
ratio() { echo "$1 / $2" | bc -l | awk '{printf "%.2f", $1}'; }
verdict() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo PASS; else echo FAIL; fi; }

echo
echo "rollgate bench — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(go version | cut -d' ' -f3)"
echo "load average at start $load_start, at end $load_end (shared machine: wall times move with it)"
echo "A.msi: $(awk -v s="$sizeA" 'BEGIN {printf "%.0f", s/1e6}') MB MSZIP installer, $MB MB payload; B.msi differs in 7 bytes of one file"
echo
printf '%-40s %9s %9s %13s %13s\n' "command ($RUNS runs)" "wall s" "CPU s" "wall ÷ msiext" "CPU ÷ msiext"
printf '%-40s %9s %9s %13s %13s\n' "----------------------------------------" "---------" "---------" "-------------" "-------------"
row() { # KEY NAME
	printf '%-40s %9.2f %9.2f %13s %13s\n' "$2" "${med[$1]}" "${cpu[$1]}" "$(ratio "${med[$1]}" "${med[msiextract]}")×" "$(ratio "${cpu[$1]}" "${cpu[msiextract]}")×"
}
row inspect "rollgate inspect A.msi"
row 7zz "7zz x A.msi"
row msiextract "msiextract A.msi"
row sha256sum "sha256sum over the extracted payload"
row verify "rollgate baseline record A + verify B"
if [ "$DIFFOSCOPE" = 1 ]; then
	row diffoscope "diffoscope A.msi B.msi"
	echo "  (diffoscope: $diffo_note)"
fi
echo
echo "peak RSS: rollgate inspect A ${rss_inspect} MiB, rollgate verify B ${rss_verify} MiB"
printf 'memory flatness (rollgate inspect peak RSS):'
for mb in $FLAT_MB; do printf '  %s MB payload: %s;' "$mb" "${flat[$mb]}"; done
echo
echo "verify reported $changed file.changed finding(s) (want 1)"
if [ -n "$gobench" ]; then
	echo
	echo "decoder alone (BenchmarkMSZIPParallel, 16 MiB of text in 32 KiB MSZIP blocks, 10 runs; cpu-MB/s = per CPU second):"
	echo "$gobench"
fi
echo
echo "goals (issue 5):"
echo "  inspect ≤ 1.0× msiextract:   $(ratio "${med[inspect]}" "${med[msiextract]}")× wall   $(verdict "${med[inspect]} <= ${med[msiextract]}")"
echo "  inspect peak RSS ≤ 256 MiB:  ${rss_inspect} MiB   $(verdict "$rss_inspect <= 256")"
if [ "$DIFFOSCOPE" = 1 ]; then
	echo "  verify ≥ 20× diffoscope:     $(ratio "${med[diffoscope]}" "${med[verify]}")× wall, $(ratio "${cpu[diffoscope]}" "${cpu[verify]}")× CPU   $(verdict "${med[diffoscope]} >= 20 * ${med[verify]}")"
else
	echo "  verify ≥ 20× diffoscope:     not measured (diffoscope skipped or failed)"
fi
