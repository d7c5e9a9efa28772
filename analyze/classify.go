package analyze

import (
	"bytes"
	"encoding/binary"
	"path"
	"strings"

	"github.com/rollgate/rollgate/inventory"
)

// headSize is how much of a file classify looks at.
const headSize = 4096

// scriptExt are the extensions of files that run as code: shell and Windows Script Host
// scripts, and the JavaScript and HTML an Electron or HTA application executes (.mjs, .cjs,
// .html), whose endpoints must be scanned like a DLL's.
var scriptExt = map[string]bool{
	".ps1": true, ".psm1": true, ".psd1": true, ".vbs": true, ".vbe": true, ".js": true, ".jse": true,
	".mjs": true, ".cjs": true, ".html": true, ".htm": true,
	".wsf": true, ".wsh": true, ".bat": true, ".cmd": true, ".sh": true, ".command": true, ".py": true,
	".pl": true, ".rb": true, ".applescript": true, ".scpt": true, ".hta": true,
}

// classify decides an entry's kind from its first bytes and its name. Content wins over the
// name: a DLL renamed to .dat is still a PE.
func classify(name string, head []byte) inventory.Kind {
	switch {
	case isPE(head):
		return inventory.KindPE
	case isMachO(head):
		return inventory.KindMachO
	case containerFormat(name, head) != "":
		return inventory.KindArchive
	case bytes.HasPrefix(head, []byte("#!")):
		return inventory.KindScript
	case scriptExt[strings.ToLower(path.Ext(name))]:
		return inventory.KindScript
	}
	return inventory.KindData
}

func isPE(head []byte) bool {
	if len(head) < 0x40 || head[0] != 'M' || head[1] != 'Z' {
		return false
	}
	off := binary.LittleEndian.Uint32(head[0x3c:])
	if int64(off)+4 > int64(len(head)) {
		// The PE header lies beyond what we peeked; MZ alone is enough to treat it as a PE
		// candidate: the PE parser decides and records an error if it is not.
		return off < 1<<20
	}
	return bytes.Equal(head[off:off+4], []byte("PE\x00\x00"))
}

func isMachO(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	switch binary.BigEndian.Uint32(head) {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
		return true
	case 0xcafebabe, 0xcafebabf:
		// Fat Mach-O shares its magic with Java class files; those carry a version >= 45
		// where a fat header carries a small architecture count.
		n := binary.BigEndian.Uint32(head[4:])
		return n > 0 && n < 20
	}
	return false
}

// containerFormat names the format of an archive rollgate can look inside, or "".
func containerFormat(name string, head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("MSCF\x00\x00\x00\x00")):
		return "cab"
	case bytes.HasPrefix(head, []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}):
		return "cfb"
	case bytes.HasPrefix(head, []byte("xar!")):
		return "xar"
	case strings.EqualFold(path.Ext(name), ".asar") && len(head) >= 16 && binary.LittleEndian.Uint32(head) == 4:
		return "asar"
	case strings.EqualFold(path.Ext(name), ".dmg"):
		return "dmg"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) && isMSIXName(name):
		return "msix"
	}
	return ""
}

// isMSIXName: MSIX and AppX packages and bundles are ZIP files known by their extension.
func isMSIXName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".msix", ".appx", ".msixbundle", ".appxbundle":
		return true
	}
	return false
}
