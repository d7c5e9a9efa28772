package inno

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// InstallPath turns a destination into innoextract's output path (src/setup/filename.cpp
// with no name map): "{const}" becomes "const" (nested constants expanded first), "{{" is
// "{", characters Windows forbids in names (< 32 and <>:"|?*) become "$", "\" and "/"
// separate, empty and "." components are dropped and ".." drops the component before it.
// Then, unlike innoextract, trailing periods and spaces are trimmed as Win32 trims them when
// Setup creates the file (unpack.WinComponents: "{sys}\version.dll." installs
// sys\version.dll), and a component trimmed to nothing is dropped.
// The result is "" for a destination with no component.
func InstallPath(dest string) string {
	i := 0
	return shortenPath(expandVars(dest, &i, false, 0))
}

// maxVarDepth bounds nested constants ("{code:{app}}").
const maxVarDepth = 16

func expandVars(s string, i *int, inner bool, depth int) string {
	var b strings.Builder
	for *i < len(s) {
		c := s[*i]
		*i++
		switch {
		case c == '}' && inner:
			return b.String()
		case c == '}':
			b.WriteByte('}')
		case c == '{' && *i < len(s) && s[*i] == '{':
			b.WriteByte('{')
			*i++
		case c == '{' && depth < maxVarDepth:
			b.WriteString(safeChars(expandVars(s, i, true, depth+1)))
		case c < 32 || strings.IndexByte(`<>:"|?*`, c) >= 0:
			b.WriteByte('$')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func safeChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 32 || strings.ContainsRune(`<>:"|?*`, r) {
			return '$'
		}
		return r
	}, s)
}

func shortenPath(p string) string {
	var out []string
	for _, c := range strings.FieldsFunc(p, func(r rune) bool { return r == '\\' || r == '/' }) {
		switch c {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, c)
		}
	}
	kept := out[:0]
	for _, c := range unpack.WinComponents(out) {
		if c != "" {
			kept = append(kept, c)
		}
	}
	return strings.Join(kept, "/")
}

// resolveFiles keeps the files that have data, gives them their install paths and settles
// collisions as innoextract does; the losers are kept as "path~N".
func (r *Reader) resolveFiles() error {
	if len(r.Files) > MaxFiles {
		return errs.Limit("", -1, "%d files (limit %d)", len(r.Files), MaxFiles)
	}
	var kept []*File
	winner := map[string]*File{}
	var order []string
	losers := map[string][]*File{}
	for _, f := range r.Files {
		if f.Location < 0 || f.Location >= len(r.data) {
			continue // an external file ("external" flag): copied from the source medium
		}
		d := &r.data[f.Location]
		f.Size = int64(d.size)
		f.ModTime = fileTime(d.filetime)
		f.Encrypted = d.encrypted
		f.Path = InstallPath(f.Destination)
		if f.Path == "" {
			continue
		}
		kept = append(kept, f)
		key := strings.ToLower(f.Path)
		old := winner[key]
		if old == nil {
			winner[key] = f
			order = append(order, key)
			continue
		}
		if r.keepsOld(old, f) {
			losers[key] = append(losers[key], f)
		} else {
			losers[key] = append(losers[key], old)
			winner[key] = f
		}
	}
	for _, key := range order {
		for i, f := range losers[key] {
			f.Path = fmt.Sprintf("%s~%d", winner[key].Path, i+1)
		}
	}
	r.Files = kept
	first := map[int]*File{}
	for _, f := range r.Files {
		if g := first[f.Location]; g != nil {
			f.dupOf = g
		} else {
			first[f.Location] = f
		}
	}
	return nil
}

// keepsOld is innoextract's handle_collision (src/cli/extract.cpp) with every prompt
// answered "overwrite": whether the file already at a path stays there.
func (r *Reader) keepsOld(old, nf *File) bool {
	od, nd := &r.data[old.Location], &r.data[nf.Location]
	has := func(name string) bool { return fileFlags.has(uint64(nf.flags), name) }
	allowTime := true
	if !has("IgnoreVersion") {
		if od.versionValid {
			allowTime = false
			switch {
			case !nd.versionValid || od.fileVersion > nd.fileVersion:
				if !has("PromptIfOlder") {
					return true
				}
			case nd.fileVersion == od.fileVersion && !has("OverwriteSameVersion"):
				if has("ReplaceSameVersionIfContentsDiffer") && string(od.sum) == string(nd.sum) {
					return true
				}
				if !has("CompareTimeStamp") {
					return true
				}
				allowTime = true
			}
		} else if nd.versionValid {
			allowTime = false
		}
	}
	if allowTime && has("CompareTimeStamp") {
		if nd.filetime == od.filetime {
			return true
		}
		if nd.filetime < od.filetime && !has("PromptIfOlder") {
			return true
		}
	}
	return false
}

// buildTree places the files; a file where a directory is (or the reverse) gets a suffix.
func (r *Reader) buildTree() error {
	t := fstree.New(unpack.MaxEntries)
	t.SetDirPerm(0o555)
	for _, f := range r.Files {
		p := f.Path
		for n := 2; ; n++ {
			node, err := t.Add(p, 0o444, f.Size, f.ModTime, f)
			if err == nil {
				f.Path, f.node = p, node
				break
			}
			if !errors.Is(err, fstree.ErrDuplicate) || n > maxRenames {
				return &unpack.FormatError{Format: "inno", Entry: f.Destination, Offset: -1, Msg: err.Error(), Err: unpack.ErrFormat}
			}
			if n%2 == 0 {
				p = fmt.Sprintf("%s~%d", f.Path, n)
			} else {
				root, rest, _ := strings.Cut(f.Path, "/")
				p = fmt.Sprintf("%s/%s~%d", root, strings.ReplaceAll(rest, "/", "_"), n)
			}
		}
	}
	r.tree = t
	return nil
}
