#!/usr/bin/env bash
# bench/nightly.sh — what a nightly `rollgate verify DIR` costs when most installers did not
# change since their baselines were recorded (issue 14, "Nightly cost"): the target is at most
# 1.5 times `sha256sum DIR/*`.
#
# It builds, in a temporary folder that it removes afterwards (KEEP=1 keeps it), N installers
# (default 20) of MB megabytes of payload each (default 20; see bench/gen), each its own
# product (its own UpgradeCode), MSZIP-compressed by wixl; records a baseline of each; then
# rebuilds CHANGED of them (default 2) from a payload with 7 bytes changed, and times, RUNS
# times each (median wall-clock seconds and mean CPU seconds, page cache warm):
#   sha256sum DIR/*                                   the floor the issue names: one hash pass
#   openssl dgst -sha256 DIR/*                        a hash pass with the CPU's SHA extensions,
#                                                     as Go's crypto/sha256 uses them (coreutils'
#                                                     sha256sum may not, and is then slower)
#   rollgate verify DIR --baseline B                  unchanged installers reuse the recorded inventory
#   rollgate verify DIR --baseline B-full             the same baselines without their recordings
#                                                     (B/.recorded): every installer analysed
#   the same two hashers and verify on the unchanged installers alone
# and prints the ratios. rollgate's exit status is ignored (the changed installers may fail).
# verify runs with its default --jobs 1, as sha256sum runs on one core.
#
# Needs: go, wixl, openssl, bc, GNU time (apt-get install -y wixl openssl bc time).
# Usage: bench/nightly.sh   (N=20 CHANGED=2 MB=20 RUNS=3 are the defaults; ROLLGATE=path uses a
#        built binary instead of building ./cmd/rollgate; JOBS sets verify --jobs)
set -euo pipefail

N=${N:-20}
CHANGED=${CHANGED:-2}
MB=${MB:-20}
RUNS=${RUNS:-3}

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-nightly.XXXXXX")
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi; }
trap cleanup EXIT

log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
for t in go wixl sha256sum openssl bc; do
	command -v "$t" >/dev/null 2>&1 || { echo "nightly: $t not found (apt-get install -y wixl openssl bc)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "nightly: /usr/bin/time not found (apt-get install -y time)" >&2; exit 2; }
if [ "$CHANGED" -gt "$N" ]; then
	echo "nightly: CHANGED=$CHANGED is more than N=$N" >&2
	exit 2
fi

log "work in $work; load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
(cd "$repo" && go build -o "$work/gen" ./bench/gen)
if [ -n "${ROLLGATE:-}" ]; then
	cp "$ROLLGATE" "$work/rollgate"
else
	(cd "$repo" && go build -o "$work/rollgate" ./cmd/rollgate)
fi
rg=$work/rollgate
jobs=()
if [ -n "${JOBS:-}" ]; then
	jobs=(--jobs "$JOBS")
fi

# One payload, and one with 7 bytes changed; each installer gets its own product codes.
"$work/gen" -dir "$work/payload" -mb "$MB"
"$work/gen" -dir "$work/payload-flip" -mb "$MB" -flip
# build I PAYLOAD OUT: installer number I of the payload folder PAYLOAD.
build() {
	local i=$1 payload=$2 out=$3 hex
	hex=$(printf '%04X' "$i")
	sed -e "s/0B5E0C0000FF/0B5E0C00${hex}/" -e "s/0B5E0C000001\"/0B5E0C01${hex}\"/" \
		-e "s/Name=\"Rollgate Bench\"/Name=\"Rollgate Bench $i\"/" "$payload/bench.wxs" >"$payload/bench-$i.wxs"
	(cd "$payload" && wixl -a x64 -D Src=src -o "$out" "bench-$i.wxs")
}

mkdir -p "$work/dir"
log "building $N installers of $MB MB payload each"
for ((i = 1; i <= N; i++)); do
	build "$i" "$work/payload" "$work/dir/app-$i.msi"
done
log "recording $N baselines"
for ((i = 1; i <= N; i++)); do
	"$rg" baseline record -q "$work/dir/app-$i.msi" --baseline "$work/B" >/dev/null
done
log "changing $CHANGED installers"
for ((i = 1; i <= CHANGED; i++)); do
	build "$i" "$work/payload-flip" "$work/dir/app-$i.msi"
done
rm -rf "$work/payload" "$work/payload-flip"
# The same baselines without their recordings: what every run cost before reuse.
mkdir -p "$work/B-full"
cp "$work"/B/*.json "$work/B-full/"

bytes=$(cat "$work"/dir/*.msi | wc -c)
log "folder: $N installers, $((bytes / 1000000)) MB"

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# timeit KEY COMMAND...: median wall seconds (wall[KEY]) and mean CPU seconds, user + system
# (cpu[KEY]), over RUNS runs after one untimed warm-up run. The machine may be shared: CPU
# seconds move much less with load than wall seconds.
declare -A wall cpu
timeit() {
	local key=$1 i
	shift
	log "timing $key ($1)"
	"$@" >/dev/null 2>&1 || true
	: >"$work/$key.times"
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %U %S' -a -o "$work/$key.times" "$@" >/dev/null 2>&1 || true
	done
	wall[$key]=$(awk '/^[0-9]/ {print $1}' "$work/$key.times" | median)
	cpu[$key]=$(awk '/^[0-9]/ {s += $2 + $3; n++} END {print s / n}' "$work/$key.times")
}

timeit sha256sum sha256sum "$work"/dir/*.msi
timeit openssl openssl dgst -sha256 "$work"/dir/*.msi
timeit reuse "$rg" verify -q "$work/dir" --baseline "$work/B" "${jobs[@]}"
timeit full "$rg" verify -q "$work/dir" --baseline "$work/B-full" "${jobs[@]}"
# The unchanged installers alone: what reuse itself costs next to a hash pass.
mkdir -p "$work/unchanged"
for ((i = CHANGED + 1; i <= N; i++)); do
	ln "$work/dir/app-$i.msi" "$work/unchanged/"
done
timeit openssl-unchanged openssl dgst -sha256 "$work"/unchanged/*.msi
timeit reuse-unchanged "$rg" verify -q "$work/unchanged" --baseline "$work/B" "${jobs[@]}"

# What the reused run said: how many reports carry the reuse note.
"$rg" verify "$work/dir" --baseline "$work/B" "${jobs[@]}" --format json --output-dir "$work/reports" >/dev/null 2>&1 || true
reused=$(grep -l 'recorded inventory was reused' "$work"/reports/*.json 2>/dev/null | wc -l)

ratio() { echo "$1 / $2" | bc -l; }
row() { # row LABEL KEY BASE
	printf '%-58s %8.3f s wall %5.2fx  %8.3f s CPU %5.2fx\n' "$1" "${wall[$2]}" "$(ratio "${wall[$2]}" "${wall[$3]}")" \
		"${cpu[$2]}" "$(ratio "${cpu[$2]}" "${cpu[$3]}")"
}
printf '\n%d installers (%d changed), %d MB, %d CPUs, load %s; %s\n' "$N" "$CHANGED" "$((bytes / 1000000))" "$(nproc)" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$(sha256sum --version | head -1)"
echo "ratios against sha256sum DIR/*:"
row "sha256sum DIR/*" sha256sum sha256sum
row "openssl dgst -sha256 DIR/* (SHA-NI when the CPU has it)" openssl sha256sum
row "rollgate verify DIR ($reused of $N reused)" reuse sha256sum
row "rollgate verify DIR (no recordings: all analysed)" full sha256sum
echo "ratios against openssl dgst -sha256:"
row "rollgate verify DIR" reuse openssl
row "rollgate verify, the $((N - CHANGED)) unchanged only" reuse-unchanged openssl-unchanged
ok=$(echo "${wall[reuse]} <= 1.5 * ${wall[sha256sum]}" | bc -l)
if [ "$ok" = 1 ]; then
	echo "target met: at most 1.5x sha256sum (wall)"
else
	echo "target missed: more than 1.5x sha256sum (wall)"
fi
