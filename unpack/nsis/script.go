package nsis

import (
	"path"
	"strconv"
	"strings"

	"github.com/rollgate/rollgate/unpack"
)

// Script holds the facts read from an installer's instructions. Strings are expanded with
// variables and shell folders as $NAME (see the package comment); instructions are read in
// order without following jumps, so a fact may sit in code that never runs.
type Script struct {
	Registry  []RegWrite
	Execs     []Exec
	Downloads []Download
	// Uninstall is the first Uninstall key the script writes (DisplayName, Publisher,
	// DisplayVersion: the product's identity); nil when it writes none.
	Uninstall *UninstallKey
	// Partial says why some facts may be missing (an unsupported fork's opcode layout).
	Partial string
}

// RegWrite is one WriteRegStr / WriteRegExpandStr / WriteRegDWORD / WriteRegBin /
// WriteRegMultiStr / WriteRegNone.
type RegWrite struct {
	Root  string // HKCR, HKCU, HKLM, HKU, HKPD, HKCC, HKDD, SHCTX (+ "32"/"64" for a forced view)
	Key   string
	Name  string
	Type  string // REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_BINARY, REG_MULTI_SZ, REG_NONE
	Value string // the string or decimal DWORD as written in the script; empty for binary data
	Entry int    // instruction index
}

// Exec is one Exec, ExecWait or ExecShell.
type Exec struct {
	Kind    string // "Exec", "ExecWait", "ExecShell"
	Command string // the command line, or ExecShell's file
	Verb    string // ExecShell's verb
	Params  string // ExecShell's parameters
	Entry   int
}

// Download is a plug-in call that fetches a URL to a file: NSISdl::download (and its
// _quiet form) or inetc::get / inetc::post / inetc::head / inetc::put.
type Download struct {
	Plugin string // "NSISdl::download", "inetc::get", ...
	URL    string
	Dest   string
	Entry  int
}

// UninstallKey is the product registration the script writes under
// Software\Microsoft\Windows\CurrentVersion\Uninstall.
type UninstallKey struct {
	Root           string
	Key            string // full key
	Name           string // the subkey name under Uninstall
	DisplayName    string
	Publisher      string
	DisplayVersion string
}

const uninstallPrefix = `software\microsoft\windows\currentversion\uninstall\`

var rootNames = map[uint32]string{
	0: "SHCTX", 0x80000000: "HKCR", 0x80000001: "HKCU", 0x80000002: "HKLM", 0x80000003: "HKU",
	0x80000004: "HKPD", 0x80000005: "HKCC", 0x80000006: "HKDD",
}

func rootName(v uint32) string {
	const view32, view64 = 0x40000000, 0x20000000
	base := v &^ (view32 | view64)
	if v&0x80000000 == 0 {
		base = v &^ (view32 | view64)
	}
	name, ok := rootNames[base]
	if !ok {
		return "0x" + strconv.FormatUint(uint64(v), 16)
	}
	switch {
	case v&view32 != 0 && v&view64 != 0:
	case v&view32 != 0:
		name += "32"
	case v&view64 != 0:
		name += "64"
	}
	return name
}

// regTypes maps WriteReg's (type, rtype) to the value type (exec.c EW_WRITEREG).
func regType(typ, rtype uint32) string {
	switch typ {
	case 1:
		if rtype == 2 {
			return "REG_EXPAND_SZ"
		}
		return "REG_SZ"
	case 4:
		return "REG_DWORD"
	case 3:
		switch rtype {
		case 7:
			return "REG_MULTI_SZ"
		case 0:
			return "REG_NONE"
		}
		return "REG_BINARY"
	}
	return "type " + strconv.FormatUint(uint64(typ), 10)
}

// rawFile is a file as the script names it, before the tree.
type rawFile struct {
	name        string // expanded, backslash-separated
	pos         uint32
	lo, hi      uint32
	entry       int
	uninstaller bool
	patch       uint32
}

// interpret reads the instructions: files with their output paths, and the facts.
func (r *Reader) interpret(h *header) error {
	var (
		prefixes  []string // SetOutPath history (7-Zip's UPrefixes)
		specOut   string   // $_OUTDIR as last assigned from $OUTDIR
		stack     []string // Push/Pop simulation for plug-in arguments
		raws      []rawFile
		uninstall *UninstallKey
	)
	if h.park {
		r.script.Partial = "Jim Park's Unicode NSIS fork: opcodes from RegDLL on use a different layout and are not read"
	}
	curPrefix := func() string {
		if len(prefixes) == 0 {
			return ""
		}
		return prefixes[len(prefixes)-1]
	}
	isAbs := func(param uint32, s string) bool {
		if v, _, ok := h.leadingVar(param); ok {
			switch v {
			case varInstDir, varExeDir, varTemp, varPluginsDir:
				return true
			}
		}
		if h.leadingShell(param) {
			return true
		}
		return strings.HasPrefix(s, `\\`) || len(s) >= 2 && s[1] == ':' && isLetter(s[0])
	}
	name := func(param uint32) string {
		s := h.str(param)
		if isAbs(param, s) {
			return s
		}
		p := curPrefix()
		if p != "" && !strings.HasSuffix(p, `\`) {
			p += `\`
		}
		return p + s
	}
	for k := uint32(0); k < h.numEntries; k++ {
		if h.spent > MaxScriptBytes {
			return errLimit("entries", int64(h.entriesOff)+int64(k)*entrySize, "instructions expand more than %d bytes of strings", MaxScriptBytes)
		}
		op, p := h.entry(k)
		if h.park && op >= ewRegisterDLL {
			continue
		}
		switch op {
		case ewCreateDir:
			if p[1] == 0 {
				break // CreateDirectory
			}
			s := h.str(p[0])
			if v, _, ok := h.leadingVar(p[0]); ok && (v == varSpecOutDir || v == varOutDir) {
				base := specOut
				if v == varOutDir {
					base = curPrefix()
				}
				s = base + strings.TrimPrefix(s, "$"+varName(v))
			}
			if len(prefixes) >= MaxFiles {
				return errLimit("entries", -1, "more than %d SetOutPath instructions", MaxFiles)
			}
			prefixes = append(prefixes, s)
		case ewAssignVar:
			if p[0] == varSpecOutDir {
				specOut = ""
				if v, after, ok := h.leadingVar(p[1]); ok && v == varOutDir && h.char(after) == 0 && p[2] == 0 && p[3] == 0 {
					specOut = curPrefix()
				}
			}
		case ewExtractFile:
			if len(raws) >= MaxFiles {
				return errLimit("entries", -1, "more than %d files", MaxFiles)
			}
			raws = append(raws, rawFile{name: name(p[1]), pos: p[2], lo: p[3], hi: p[4], entry: int(k)})
		case ewWriteUninstaller:
			if p[0] == 0 {
				break
			}
			s := h.str(p[0])
			if p[3] != 0 && !isAbs(p[0], s) {
				s = h.str(p[3])
			}
			if len(raws) >= MaxFiles {
				return errLimit("entries", -1, "more than %d files", MaxFiles)
			}
			raws = append(raws, rawFile{name: s, pos: p[1], patch: p[2], uninstaller: true, entry: int(k)})
		case ewWriteReg:
			w := RegWrite{Root: rootName(p[0]), Key: h.str(p[1]), Name: h.str(p[2]), Type: regType(p[4], p[5]), Entry: int(k)}
			if p[4] != 3 {
				w.Value = h.str(p[3])
			}
			if len(r.script.Registry) < MaxFacts {
				r.script.Registry = append(r.script.Registry, w)
			}
			lk := strings.ToLower(w.Key)
			if strings.HasPrefix(lk, uninstallPrefix) && len(lk) > len(uninstallPrefix) {
				if uninstall == nil {
					uninstall = &UninstallKey{Root: w.Root, Key: w.Key, Name: w.Key[len(uninstallPrefix):]}
				}
				if strings.EqualFold(w.Key, uninstall.Key) && w.Root == uninstall.Root {
					switch strings.ToLower(w.Name) {
					case "displayname":
						uninstall.DisplayName = w.Value
					case "publisher":
						uninstall.Publisher = w.Value
					case "displayversion":
						uninstall.DisplayVersion = w.Value
					}
				}
			}
		case ewExecute:
			kind := "Exec"
			if p[2] != 0 {
				kind = "ExecWait"
			}
			if len(r.script.Execs) < MaxFacts {
				r.script.Execs = append(r.script.Execs, Exec{Kind: kind, Command: h.str(p[0]), Entry: int(k)})
			}
		case ewShellExec:
			if len(r.script.Execs) < MaxFacts {
				r.script.Execs = append(r.script.Execs, Exec{Kind: "ExecShell", Verb: h.str(p[0]), Command: h.str(p[1]), Params: h.str(p[2]), Entry: int(k)})
			}
		case ewPushPop:
			switch {
			case p[1] == 0 && p[2] == 0: // Push
				if len(stack) < MaxFacts {
					stack = append(stack, h.str(p[0]))
				}
			case p[1] != 0 && len(stack) > 0: // Pop
				stack = stack[:len(stack)-1]
			}
		case ewRegisterDLL:
			dll, fn := h.str(p[0]), h.str(p[1])
			if fn == "" {
				break
			}
			plugin := strings.TrimSuffix(path.Base(strings.ReplaceAll(dll, `\`, "/")), ".dll")
			stack = r.pluginCall(plugin, fn, stack, int(k))
		}
	}
	r.script.Uninstall = uninstall
	return r.nameFiles(raws)
}

// pluginCall records a download made by a plug-in call and pops the arguments it takes.
// Plug-ins pop their arguments: the first argument is the last pushed.
func (r *Reader) pluginCall(plugin, fn string, stack []string, entry int) []string {
	pop := func() (string, bool) {
		if len(stack) == 0 {
			return "", false
		}
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return s, true
	}
	add := func(url, dest string) {
		if len(r.script.Downloads) < MaxFacts {
			r.script.Downloads = append(r.script.Downloads, Download{Plugin: plugin + "::" + fn, URL: url, Dest: dest, Entry: entry})
		}
	}
	switch {
	case strings.EqualFold(plugin, "NSISdl") && (fn == "download" || fn == "download_quiet"):
		// [/TIMEOUT=ms] [/PROXY host] [/NOIEPROXY] [/TRANSLATE ...] [/BANNER ...] URL DEST
		for {
			s, ok := pop()
			if !ok {
				return stack
			}
			switch {
			case s == "/PROXY":
				pop()
				continue
			case strings.HasPrefix(s, "/"):
				continue
			}
			dest, _ := pop()
			add(s, dest)
			return stack
		}
	case strings.EqualFold(plugin, "inetc") && (fn == "get" || fn == "post" || fn == "head" || fn == "put"):
		// [/options] URL1 DEST1 [URL2 DEST2 ...] /END
		argOpts := map[string]bool{"/CAPTION": true, "/USERAGENT": true, "/PROXY": true, "/CONNECTTIMEOUT": true,
			"/RECEIVETIMEOUT": true, "/HEADER": true, "/POPUP": true, "/BANNER": true, "/USERNAME": true,
			"/PASSWORD": true, "/QUESTION": true, "/FILE": true, "/TOSTACKCONV": false}
		for n := 0; n < MaxFacts; n++ {
			s, ok := pop()
			if !ok || strings.EqualFold(s, "/END") {
				return stack
			}
			if strings.HasPrefix(s, "/") {
				if argOpts[strings.ToUpper(s)] {
					pop()
				}
				if strings.EqualFold(s, "/POST") && fn == "post" {
					pop()
				}
				continue
			}
			dest, _ := pop()
			add(s, dest)
		}
	}
	return stack
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// fsPath maps an expanded NSIS path to the fs.FS path (see the package comment).
func fsPath(name string) string {
	comps := strings.FieldsFunc(name, func(r rune) bool { return r == '\\' || r == '/' })
	root := "INSTDIR"
	switch {
	case strings.HasPrefix(name, `\\`):
		root = "UNC"
	case len(comps) > 0 && len(comps[0]) >= 2 && comps[0][1] == ':' && isLetter(comps[0][0]):
		root = comps[0][:2]
		if rest := comps[0][2:]; rest != "" {
			comps[0] = rest
		} else {
			comps = comps[1:]
		}
	case len(comps) > 0 && strings.HasPrefix(comps[0], "$") && len(comps[0]) > 1:
		root = comps[0][1:]
		comps = comps[1:]
	}
	var kept []string
	for _, c := range comps {
		c = strings.ReplaceAll(c, "\x00", "")
		if c == "" || c == "." || c == ".." {
			continue
		}
		kept = append(kept, c)
	}
	// Trailing periods and spaces as Win32 trims them when the file is created
	// ("$SYSDIR\version.dll." is version.dll); a component trimmed to nothing is dropped.
	out := []string{root}
	for _, c := range unpack.WinComponents(kept) {
		if c != "" && c != "." && c != ".." {
			out = append(out, c)
		}
	}
	if len(out) == 1 {
		out = append(out, "file")
	}
	if out[0] == "." || out[0] == ".." {
		out[0] = "INSTDIR"
	}
	return strings.Join(out, "/")
}
