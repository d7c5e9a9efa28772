#!/usr/bin/env bash
# oracle.sh BUNDLE — lists a WiX Burn bundle's payloads with an implementation independent of
# unpack/burn: Python reads the .wixburn header (WiX src/burn/engine/section.cpp) and the
# manifest (xml.etree), dd carves each container and cabextract (libmspack) unpacks it.
# Output, one line per payload sorted by path: "<sha256> <size> <path>", the paths named as
# unpack/burn names them ((ux)/<FilePath>, (ux)/(manifest), <FilePath>, (unlisted)/<n>/<name>),
# then "missing <payload id> <why>" lines for payloads the file does not carry.
# Tools: python3, cabextract (Debian). Used to write the golden files beside it.
set -euo pipefail
export LC_ALL=C
bundle=$1
W=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-burnoracle.XXXXXX")
trap 'rm -rf "$W"' EXIT
python3 - "$bundle" "$W" <<'PY'
import hashlib, os, struct, subprocess, sys, xml.etree.ElementTree as ET
path, work = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
nt = struct.unpack_from('<I', data, 0x3c)[0]
nsec, optlen = struct.unpack_from('<H', data, nt + 6)[0], struct.unpack_from('<H', data, nt + 20)[0]
opt = nt + 24
dd = opt + (128 if struct.unpack_from('<H', data, opt)[0] == 0x10b else 144)
certoff, certlen = struct.unpack_from('<II', data, dd)
for i in range(nsec):
    h = opt + optlen + 40 * i
    if data[h:h + 8] == b'.wixburn':
        sec = struct.unpack_from('<I', data, h + 20)[0]
        break
else:
    sys.exit('no .wixburn section')
magic, ver = struct.unpack_from('<II', data, sec)
stub, _, sigoff, siglen, fmt, count = struct.unpack_from('<IIIIII', data, sec + 24)
sizes = struct.unpack_from('<%dI' % count, data, sec + 48)
engine = sigoff + siglen if sigoff else (certoff + certlen if certoff else stub + sizes[0])
offs, o = [stub], engine
for s in sizes[1:]:
    offs.append(o); o += s
dirs = {}
for i, (off, size) in enumerate(zip(offs, sizes)):
    if off + size > len(data) or size == 0:
        continue
    cab, d = os.path.join(work, '%d.cab' % i), os.path.join(work, str(i))
    open(cab, 'wb').write(data[off:off + size])
    os.mkdir(d)
    subprocess.run(['cabextract', '-q', '-d', d, cab], check=True)
    dirs[i] = d
m = ET.fromstring(open(os.path.join(dirs[0], '0'), 'rb').read())
local = lambda e: e.tag.split('}')[-1]
out, missing, used = [], [], set()
def emit(p, ci, src):
    f = os.path.join(dirs[ci], src)
    b = open(f, 'rb').read()
    out.append((p, hashlib.sha256(b).hexdigest(), len(b)))
    used.add((ci, src))
emit('(ux)/(manifest)', 0, '0')
containers = {}
for c in m:
    if local(c) == 'Container':
        containers.setdefault(c.get('Id'), c)  # the engine's ContainerFindById: the first
def win32(fp):
    # Win32 path normalisation: a component's one trailing '.', the last one's '.' and ' '
    c = fp.split('/')
    c = [x[:-1] if x.endswith('.') and not x.endswith('..') and x != '.' else x for x in c[:-1]] + [c[-1].rstrip('. ')]
    return '/'.join(c)
for e in m:
    if local(e) == 'UX':
        for p in e:
            if local(p) == 'Payload':
                emit('(ux)/' + win32(p.get('FilePath').replace('\\', '/')), 0, p.get('SourcePath'))
    if local(e) != 'Payload':
        continue
    fp = win32(e.get('FilePath').replace('\\', '/'))
    if e.get('Packaging', '').lower() != 'embedded' or not e.get('Container'):
        missing.append((e.get('Id'), e.get('Packaging') or 'external')); continue
    c = containers[e.get('Container')]
    if c.get('Attached') != 'yes':  # XmlGetYesNoAttribute: exactly "yes"
        missing.append((e.get('Id'), 'detached container')); continue
    ci = int(c.get('AttachedIndex'))
    if ci not in dirs:
        missing.append((e.get('Id'), 'absent container %d' % ci)); continue
    emit(fp, ci, e.get('SourcePath'))
for ci, d in dirs.items():
    for root, _, files in os.walk(d):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), d)
            if (ci, rel) not in used:
                emit('(unlisted)/%d/%s' % (ci, rel), ci, rel)
for p, h, n in sorted(out):
    print(h, n, p)
for pid, why in missing:
    print('missing', pid, why)
PY
