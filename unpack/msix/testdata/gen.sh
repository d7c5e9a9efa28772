#!/bin/sh
# Regenerates the MSIX fixtures: a package laid out as makeappx lays it out (payload, then
# AppxManifest.xml, AppxBlockMap.xml, [Content_Types].xml), signed with osslsigncode by the
# test CA of testdata/fixtures/win/ca, and tampered copies. Needs: x86_64-w64-mingw32-gcc,
# zip, python3, osslsigncode (2.9). Records osslsigncode's verdicts in osslsigncode.txt.
# Differences from makeappx: app.dll and AppxBlockMap.xml are stored rather than deflated so
# that mutate.py can edit them in place; zip -X writes no extra fields (LfhSize = 30 + name).
set -eu
cd "$(dirname "$0")"
HERE=$(pwd)
CA=$HERE/../../../testdata/fixtures/win/ca
export TZ=UTC
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

mkpkg() { # DIR OUT [--corrupt NAME]: zip DIR's payload and footprint into OUT
	(
		cd "$1"
		shift
		out=$1
		shift
		find . -type f -exec touch -d 2026-01-01T00:00:00Z {} +
		python3 "$HERE/blockmap.py" "$@" $(cat payload.list) AppxManifest.xml > AppxBlockMap.xml
		touch -d 2026-01-01T00:00:00Z AppxBlockMap.xml
		rm -f "$out"
		zip -X -q -0 "$out" $(cat stored.list)
		zip -X -q -9 "$out" $(grep -vxF -f stored.list payload.list) AppxManifest.xml
		zip -X -q -0 "$out" AppxBlockMap.xml
		zip -X -q -9 "$out" '[Content_Types].xml'
	)
}

P=$W/pkg
mkdir -p "$P/bin" "$P/data"
printf '__declspec(dllexport) int acme_add(int a, int b) { return a + b; }\n' > "$W/app.c"
x86_64-w64-mingw32-gcc -O2 -s -shared -o "$P/bin/app.dll" "$W/app.c"
printf 'int main(void) { return 0; }\n' > "$W/main.c"
x86_64-w64-mingw32-gcc -O2 -s -o "$P/bin/app.exe" "$W/main.c"
# 100 KiB of text: two block map blocks, compressible.
python3 -c 'import sys; sys.stdout.write("".join("line %05d of the Acme Softphone data file\n" % i for i in range(2500))[:102400])' > "$P/data/blob.txt"
cat > "$P/AppxManifest.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<Package xmlns="http://schemas.microsoft.com/appx/manifest/foundation/windows10">
  <Identity Name="Acme.Softphone" Publisher="CN=Acme Softphone Ltd, O=Acme Softphone Ltd" Version="5.2.0.0" ProcessorArchitecture="x64"/>
  <Properties><DisplayName>Acme Softphone</DisplayName><PublisherDisplayName>Acme</PublisherDisplayName><Logo>data\blob.txt</Logo></Properties>
  <Resources><Resource Language="en-us"/></Resources>
  <Dependencies><TargetDeviceFamily Name="Windows.Desktop" MinVersion="10.0.17763.0" MaxVersionTested="10.0.22621.0"/></Dependencies>
  <Applications><Application Id="App" Executable="bin\app.exe" EntryPoint="Windows.FullTrustApplication"/></Applications>
</Package>
XML
cat > "$P/[Content_Types].xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="dll" ContentType="application/x-msdownload"/><Default Extension="exe" ContentType="application/x-msdownload"/><Default Extension="txt" ContentType="text/plain"/><Override PartName="/AppxManifest.xml" ContentType="application/vnd.ms-appx.manifest+xml"/><Override PartName="/AppxBlockMap.xml" ContentType="application/vnd.ms-appx.blockmap+xml"/></Types>
XML
printf 'bin/app.dll\nbin/app.exe\ndata/blob.txt\n' > "$P/payload.list"
printf 'bin/app.dll\n' > "$P/stored.list"
mkpkg "$P" "$W/unsigned.msix"
cp "$W/unsigned.msix" acme-unsigned.msix

sign() { # IN OUT
	rm -f "$2"
	osslsigncode sign -certs "$CA/acme-chain.pem" -key "$CA/acme.key" -in "$1" -out "$2" >/dev/null
}
sign acme-unsigned.msix acme-signed.msix
# One payload byte flipped (CRC fixed): the block map and the AXPC digest catch it.
python3 mutate.py acme-signed.msix acme-payload-flipped.msix bin/app.dll flip 200
# One block hash edited in the stored block map (CRC fixed): AXBM catches it, and the block
# map no longer matches the DLL.
H=$(python3 -c 'import re,sys; print(re.search(r"app.dll\"[^>]*>\s*<Block Hash=\"([^\"]{8})", open(sys.argv[1]).read()).group(1))' "$P/AppxBlockMap.xml")
python3 -c 'import sys; h=sys.argv[1]; sys.stdout.write(h[:7] + ("A" if h[7] != "A" else "B"))' "$H" > "$W/new"
python3 mutate.py acme-signed.msix acme-blockmap-edited.msix AppxBlockMap.xml replace "$H" "$(cat "$W/new")"
# The signature removed by osslsigncode: a well-formed unsigned package.
rm -f acme-stripped.msix
osslsigncode remove-signature -in acme-signed.msix -out acme-stripped.msix >/dev/null
# A block map that lies, signed as it is: the signature verifies, the block map does not.
mkpkg "$P" "$W/badmap.msix" --corrupt data/blob.txt
sign "$W/badmap.msix" acme-signed-bad-blockmap.msix

# A bundle holding the unsigned package.
B=$W/bundle
mkdir -p "$B/AppxMetadata"
cp acme-unsigned.msix "$B/Acme.Softphone_x64.msix"
cat > "$B/AppxMetadata/AppxBundleManifest.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<Bundle xmlns="http://schemas.microsoft.com/appx/2013/bundle" SchemaVersion="5.0">
  <Identity Name="Acme.Softphone" Publisher="CN=Acme Softphone Ltd, O=Acme Softphone Ltd" Version="5.2.0.0"/>
  <Packages><Package Type="application" Version="5.2.0.0" Architecture="x64" FileName="Acme.Softphone_x64.msix" Offset="0" Size="0"/></Packages>
</Bundle>
XML
printf '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="msix" ContentType="application/vnd.ms-appx"/><Override PartName="/AppxBlockMap.xml" ContentType="application/vnd.ms-appx.blockmap+xml"/><Override PartName="/AppxMetadata/AppxBundleManifest.xml" ContentType="application/vnd.ms-appx.bundlemanifest+xml"/></Types>\n' > "$B/[Content_Types].xml"
(
	cd "$B"
	find . -type f -exec touch -d 2026-01-01T00:00:00Z {} +
	python3 "$HERE/blockmap.py" Acme.Softphone_x64.msix AppxMetadata/AppxBundleManifest.xml > AppxBlockMap.xml
	rm -f "$HERE/acme-bundle.msixbundle"
	zip -X -q -0 "$HERE/acme-bundle.msixbundle" Acme.Softphone_x64.msix
	zip -X -q -9 "$HERE/acme-bundle.msixbundle" AppxMetadata/AppxBundleManifest.xml AppxBlockMap.xml '[Content_Types].xml'
)

sign acme-bundle.msixbundle acme-bundle-signed.msixbundle

# The Acme package signed by another publisher (Mallory, under the same test CA): the
# signature verifies, but Windows refuses it because the manifest names Acme.
rm -f acme-signed-by-mallory.msix
osslsigncode sign -certs "$CA/mallory-chain.pem" -key "$CA/mallory.key" -in acme-unsigned.msix -out acme-signed-by-mallory.msix >/dev/null

# The same package written as a stream (zip to a pipe): every entry has a data descriptor,
# which AXPC covers.
(cd "$P" && python3 "$HERE/blockmap.py" $(cat payload.list) AppxManifest.xml > AppxBlockMap.xml &&
	touch -d 2026-01-01T00:00:00Z AppxBlockMap.xml &&
	zip -X -q -fz- - $(cat payload.list) AppxManifest.xml AppxBlockMap.xml '[Content_Types].xml' | cat > "$W/dd.msix")
sign "$W/dd.msix" acme-signed-dd.msix

# A package with AppxMetadata/CodeIntegrity.cat (stored; its content is opaque to the digest,
# so a few DER bytes stand in for a catalog): the signature carries AXCI, which an edited
# catalog breaks.
mkdir -p "$P/AppxMetadata"
printf '\060\003\002\001\001' > "$P/AppxMetadata/CodeIntegrity.cat"
touch -d 2026-01-01T00:00:00Z "$P/AppxMetadata/CodeIntegrity.cat"
cp "$W/unsigned.msix" "$W/ci.msix"
(cd "$P" && zip -X -q -0 "$W/ci.msix" AppxMetadata/CodeIntegrity.cat)
sign "$W/ci.msix" acme-signed-ci.msix
python3 mutate.py acme-signed-ci.msix acme-ci-edited.msix AppxMetadata/CodeIntegrity.cat flip 4

# The oracle: osslsigncode's verdict on each, recorded for the tests.
: > osslsigncode.txt
for f in acme-signed.msix acme-payload-flipped.msix acme-blockmap-edited.msix acme-stripped.msix acme-signed-bad-blockmap.msix acme-bundle-signed.msixbundle acme-signed-ci.msix acme-ci-edited.msix acme-signed-by-mallory.msix acme-signed-dd.msix; do
	if osslsigncode verify -CAfile "$CA/root.pem" -in "$f" > "$W/out" 2>&1; then v=ok; else v=fail; fi
	printf '%s %s\n' "$f" "$v" >> osslsigncode.txt
done
cat osslsigncode.txt
