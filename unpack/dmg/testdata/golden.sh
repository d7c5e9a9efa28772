#!/bin/sh
# golden.sh regenerates golden.txt from 7-Zip (7zz, Debian package 7zip), so that
# `go test` needs no 7zz. Usage: ./golden.sh SAMPLES_DIR > golden.txt
#
# For each sample it extracts with `7zz x` and prints one line per entry:
#   <sample> dir  <path>
#   <sample> file <path> <size> <sha256>
# and, for images 7-Zip shows as bare partitions, the SHA-256 of the concatenated disk:
#   <sample> disk <size> <sha256>
# HFS+ paths drop 7-Zip's leading volume-name folder (rollgate shows the path inside the
# volume) and the two private metadata folders, which rollgate hides.
set -eu
samples=${1:?usage: golden.sh SAMPLES_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in compression-adc compression-bz2 compression-lzfse compression-raw compression-zlib \
	encrypted gpt relic-dummy; do
	out="$tmp/$s"
	mkdir -p "$out"
	7zz x -y -o"$out" "$samples/dmg/$s.dmg" >/dev/null
	case $s in
	compression-*)
		(cd "$out" && for f in 0.MBR 1.free 2.Windows_FAT_16 3.Windows_FAT_16 4.free; do
			printf '%s file %s %s %s\n' "$s" "$f" "$(stat -c %s "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
		done
		cat 0.MBR 1.free 2.Windows_FAT_16 3.Windows_FAT_16 4.free >"$tmp/disk"
		printf '%s disk %s %s\n' "$s" "$(stat -c %s "$tmp/disk")" "$(sha256sum <"$tmp/disk" | cut -d' ' -f1)")
		;;
	*)
		vol=$(ls "$out")
		(cd "$out/$vol" && find . -mindepth 1 \
			\( -name '[[]HFS+ Private Data]' -o -name '.HFS+ Private Directory Data*' \) -prune -o -print |
			sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r p; do
				if [ -d "$p" ]; then
					printf '%s dir %s\n' "$s" "$p"
				else
					printf '%s file %s %s %s\n' "$s" "$p" "$(stat -c %s "$p")" "$(sha256sum <"$p" | cut -d' ' -f1)"
				fi
			done)
		;;
	esac
done
