package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rollgate/rollgate/inventory"
)

// Caps on what is read back from a container. Everything a container prints is hostile: a
// guest can print forever, print one endless line, or forge trace lines.
const (
	// MaxLineBytes is the longest line kept; the rest of a longer line is skipped.
	MaxLineBytes = 8 << 10
	// MaxTraceBytes is how much of one stream is parsed; the rest is skipped (Truncated).
	MaxTraceBytes = 64 << 20
	// MaxEvents caps each list a parser returns.
	MaxEvents = 1 << 14
	// maxField caps one string field copied into a Behaviour.
	maxField = 1024
)

// lineReader yields lines of at most MaxLineBytes from at most MaxTraceBytes of r.
type lineReader struct {
	br        *bufio.Reader
	lr        *io.LimitedReader
	truncated bool
}

func newLineReader(r io.Reader) *lineReader {
	lr := &io.LimitedReader{R: r, N: MaxTraceBytes}
	return &lineReader{br: bufio.NewReaderSize(lr, MaxLineBytes), lr: lr}
}

// next returns the next line without its newline; ok is false at the end.
func (l *lineReader) next() (line []byte, ok bool) {
	b, err := l.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		line = append([]byte(nil), b...)
		l.truncated = true
		for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the long line
			_, err = l.br.ReadSlice('\n')
		}
		return line, true
	}
	if len(b) == 0 && err != nil {
		if l.lr.N <= 0 {
			// The cap was reached; whether more followed is unknown, assume it did.
			l.truncated = true
		}
		return nil, false
	}
	return bytes.TrimRight(b, "\r\n"), true
}

// Trace is what wine's +loaddll and +process channels showed.
type Trace struct {
	DLLLoads  []inventory.DLLLoad
	Processes []inventory.Process
	// Truncated reports that a cap (line, stream or event count) cut the trace short.
	Truncated bool
}

// traceLine is one parsed wine debug line: "[pid:]tid:class:channel:function message".
type traceLine struct {
	pid, class, channel, function, msg string
}

// parseTraceLine splits a wine 8.0 debug line. With WINEDEBUG=+pid the prefix is
// "0020:0024:" (process, thread), without it "0024:" (thread only).
func parseTraceLine(s string) (traceLine, bool) {
	var t traceLine
	var ids []string
	for len(ids) < 2 {
		i := strings.IndexByte(s, ':')
		if i < 1 || i > 8 || !isHex(s[:i]) {
			break
		}
		ids = append(ids, s[:i])
		s = s[i+1:]
	}
	if len(ids) == 0 {
		return t, false
	}
	if len(ids) == 2 {
		t.pid = ids[0]
	}
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return t, false
	}
	t.class, t.channel = parts[0], parts[1]
	switch t.class {
	case "trace", "fixme", "err", "warn":
	default:
		return t, false
	}
	t.function, t.msg, _ = strings.Cut(parts[2], " ")
	return t, true
}

func isStartExe(p string) bool {
	return strings.EqualFold(p, `C:\windows\system32\start.exe`)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// debugStr decodes one wine debugstr_w / debugstr_a value at the start of s
// (L"C:\\x" or "x", or (null)) and returns it and the rest of s. wine escapes \\ \" \n \r \t,
// and writes other characters outside printable ASCII as a backslash and four hex digits
// (debugstr_w) or as \x and two hex digits (debugstr_a); a value cut by wine's buffer ends
// in `"...`.
func debugStr(s string) (val, rest string, ok bool) {
	s = strings.TrimLeft(s, " ")
	if strings.HasPrefix(s, "(null)") {
		return "", s[len("(null)"):], true
	}
	s = strings.TrimPrefix(s, "L")
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	s = s[1:]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			rest = s[i+1:]
			rest = strings.TrimPrefix(rest, "...")
			return capField(b.String()), rest, true
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; {
			case e == 'n':
				b.WriteByte('\n')
			case e == 'r':
				b.WriteByte('\r')
			case e == 't':
				b.WriteByte('\t')
			case e == 'x' && i+2 < len(s) && isHex(s[i+1:i+3]):
				v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
				b.WriteRune(rune(v))
				i += 2
			case i+4 <= len(s) && isHex(s[i:i+4]):
				v, _ := strconv.ParseUint(s[i:i+4], 16, 16)
				r := rune(v)
				if !utf8.ValidRune(r) {
					r = utf8.RuneError
				}
				b.WriteRune(r)
				i += 3
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
		if b.Len() > maxField {
			return "", "", false
		}
	}
	return "", "", false // no closing quote
}

func capField(s string) string {
	if len(s) <= maxField {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	s = s[:maxField]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// ParseTrace reads wine 8.0 debug output (stderr of wine run with
// WINEDEBUG=+pid,+loaddll,+process; without +pid the loads are not attributed to processes)
// and returns the modules loaded and the processes created:
//
//	0028:002c:trace:loaddll:build_module Loaded L"C:\\windows\\system32\\kernelbase.dll" at 000000007B000000: builtin
//	0030:0034:trace:process:NtCreateUserProcess L"\\??\\C:\\windows\\system32\\explorer.exe" image L"C:\\windows\\system32\\explorer.exe" cmdline L"\"C:\\windows\\system32\\explorer.exe\" /desktop" parent (nil)
//	0030:0034:trace:process:NtCreateUserProcess L"\\??\\C:\\windows\\system32\\explorer.exe" pid 004c tid 0050 handles 0x78/0x7c
//
// The first process (started by the Unix-side loader, not by NtCreateUserProcess) is
// recognised by the first .exe its process loads. Lists are de-duplicated and sorted; the
// caps above apply. Lines it does not recognise are skipped: the parser never fails on input.
func ParseTrace(r io.Reader) Trace {
	var t Trace
	lr := newLineReader(r)
	type procKey struct{ image, command string }
	procs := map[procKey]bool{}
	loads := map[inventory.DLLLoad]bool{}
	pidImage := map[string]string{} // pid → image, from NtCreateUserProcess or the first .exe load
	created := map[string]bool{}    // images seen in NtCreateUserProcess
	firstExe := []string{}          // images of processes not seen created, in order
	type pendingLoad struct{ image, path, typ string }
	var pending []pendingLoad
	for {
		raw, ok := lr.next()
		if !ok {
			break
		}
		tl, ok := parseTraceLine(string(raw))
		if !ok || tl.class != "trace" {
			continue
		}
		switch {
		case tl.channel == "loaddll" && tl.function == "build_module":
			msg, ok := strings.CutPrefix(tl.msg, "Loaded ")
			if !ok {
				continue
			}
			path, rest, ok := debugStr(msg)
			if !ok || path == "" {
				continue
			}
			typ := ""
			if i := strings.LastIndex(rest, ": "); i >= 0 {
				typ = strings.TrimSpace(rest[i+2:])
			}
			if typ != "builtin" && typ != "native" {
				typ = ""
			}
			if tl.pid != "" && strings.HasSuffix(strings.ToLower(path), ".exe") {
				// The first .exe a process loads is its image; `wine64 prog.exe` starts
				// start.exe, which then loads prog.exe as the main module of the same
				// process, so an .exe loaded after start.exe becomes the image too.
				pid := strings.ToLower(tl.pid)
				if cur, known := pidImage[pid]; !known || isStartExe(cur) && !isStartExe(path) {
					pidImage[pid] = path
					firstExe = append(firstExe, path)
				}
			}
			if len(pending) < MaxEvents {
				pending = append(pending, pendingLoad{pidImage[strings.ToLower(tl.pid)], path, typ})
			} else {
				t.Truncated = true
			}
		case tl.channel == "process" && tl.function == "NtCreateUserProcess":
			ntPath, rest, ok := debugStr(tl.msg)
			if !ok {
				continue
			}
			rest = strings.TrimLeft(rest, " ")
			switch {
			case strings.HasPrefix(rest, "image "):
				image, rest2, ok := debugStr(rest[len("image "):])
				if !ok {
					continue
				}
				cmd := ""
				if r2, ok := strings.CutPrefix(strings.TrimLeft(rest2, " "), "cmdline "); ok {
					cmd, _, _ = debugStr(r2)
				}
				if image == "" {
					image = strings.TrimPrefix(ntPath, `\??\`)
				}
				created[strings.ToLower(image)] = true
				k := procKey{image, cmd}
				if !procs[k] {
					if len(procs) >= MaxEvents {
						t.Truncated = true
						continue
					}
					procs[k] = true
				}
			case strings.HasPrefix(rest, "pid "):
				f := strings.Fields(rest)
				if len(f) >= 2 && isHex(f[1]) {
					pidImage[strings.ToLower(f[1])] = strings.TrimPrefix(ntPath, `\??\`)
				}
			}
		}
	}
	for _, p := range pending {
		d := inventory.DLLLoad{Process: p.image, Path: p.path, Type: p.typ}
		loads[d] = true
	}
	for _, img := range firstExe {
		if !created[strings.ToLower(img)] {
			k := procKey{img, ""}
			if !procs[k] && len(procs) < MaxEvents {
				procs[k] = true
			}
		}
	}
	t.DLLLoads = make([]inventory.DLLLoad, 0, len(loads))
	for d := range loads {
		t.DLLLoads = append(t.DLLLoads, d)
	}
	sort.Slice(t.DLLLoads, func(i, j int) bool {
		a, b := t.DLLLoads[i], t.DLLLoads[j]
		if a.Process != b.Process {
			return a.Process < b.Process
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Type < b.Type
	})
	t.Processes = make([]inventory.Process, 0, len(procs))
	for k := range procs {
		t.Processes = append(t.Processes, inventory.Process{Image: k.image, Command: k.command})
	}
	sort.Slice(t.Processes, func(i, j int) bool {
		a, b := t.Processes[i], t.Processes[j]
		if a.Image != b.Image {
			return a.Image < b.Image
		}
		return a.Command < b.Command
	})
	t.Truncated = t.Truncated || lr.truncated
	return t
}
