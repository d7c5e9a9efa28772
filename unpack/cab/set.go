package cab

// Finding the other cabinets of a set from one of them, as cabextract does: each CFHEADER
// names its neighbours (szCabinetPrev, szCabinetNext, [MS-CAB] 2.1); they are looked up in the
// cabinet's own folder, by exact name first and then ignoring case (set tools write
// "Split-2.CAB" and file systems keep "split-2.cab"). A name is only ever a file name in that
// folder: one with a path separator, a drive colon or "." / ".." is refused.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/rollgate/rollgate/unpack"
)

// Limits of the sibling lookup.
const (
	MaxSetParts   = 64                 // cabinets one OpenSetFS call follows, the given one included
	MaxDirEntries = unpack.MaxFoldScan // folder entries scanned for a case-insensitive name match
)

// OpenSetFS reads the cabinet set that first belongs to, looking for its neighbours in dir (the
// folder holding first) by the names the headers give, previous ones then next ones, at most
// MaxSetParts cabinets in all. A neighbour that is absent ends the walk in that direction and
// is returned in missing; NewSetReader then refuses the set only if a file continues into it,
// so a cabinet whose set is incomplete still reads the files it holds whole. first.Name must be
// first's file name in dir. The Reader keeps the neighbours open; Close releases them.
func OpenSetFS(dir fs.FS, first Part) (r *Reader, missing []string, err error) {
	c0, err := parseCabinet(first)
	if err != nil {
		return nil, nil, err
	}
	var opened []io.Closer
	defer func() {
		if err != nil {
			for _, c := range opened {
				c.Close()
			}
		}
	}()
	seen := map[string]bool{strings.ToLower(first.Name): true}
	var before, after []Part
	// follow walks one direction from c0; name picks the neighbour's name from a header.
	follow := func(name func(*cabinet) string, into *[]Part) error {
		for cur := c0; name(cur) != ""; {
			n := name(cur)
			if 1+len(before)+len(after) >= MaxSetParts {
				return fmt.Errorf("cab: set of %q has more than %d cabinets: %w", first.Name, MaxSetParts, unpack.ErrLimit)
			}
			if err := checkSiblingName(cur, n); err != nil {
				return err
			}
			p, f, err := openSibling(dir, n)
			if errors.Is(err, fs.ErrNotExist) {
				missing = append(missing, n)
				return nil
			}
			if err != nil {
				return fmt.Errorf("cab: %sopening the set's cabinet %q: %w", cabName(cur), n, err)
			}
			opened = append(opened, f)
			if seen[strings.ToLower(p.Name)] {
				// A set naming a cabinet twice (a loop): NewSetReader reports the
				// duplicate or gap by cabinet number.
				return nil
			}
			seen[strings.ToLower(p.Name)] = true
			c, err := parseCabinet(p)
			if err != nil {
				return err
			}
			*into = append(*into, p)
			cur = c
		}
		return nil
	}
	if err := follow(func(c *cabinet) string { return c.prevName }, &before); err != nil {
		return nil, nil, err
	}
	if err := follow(func(c *cabinet) string { return c.nextName }, &after); err != nil {
		return nil, nil, err
	}
	parts := make([]Part, 0, 1+len(before)+len(after))
	for i := len(before) - 1; i >= 0; i-- {
		parts = append(parts, before[i])
	}
	parts = append(parts, first)
	parts = append(parts, after...)
	r, err = NewSetReader(parts)
	if err != nil {
		return nil, nil, err
	}
	r.closers = append(r.closers, opened...)
	return r, missing, nil
}

// checkSiblingName refuses a neighbour name that is not a plain file name in the folder.
func checkSiblingName(c *cabinet, name string) error {
	if name == "." || name == ".." || strings.ContainsAny(name, `/\:`) || !fs.ValidPath(name) {
		return &unpack.FormatError{Format: "cab", Entry: c.part.Name, Offset: -1, Err: unpack.ErrInsecurePath,
			Msg: fmt.Sprintf("the set's next or previous cabinet %q is not a file name beside this one", name)}
	}
	return nil
}

// openSibling opens name in dir, or the one entry of dir whose name equals it ignoring case.
func openSibling(dir fs.FS, name string) (Part, io.Closer, error) {
	if dir == nil {
		return Part{}, nil, fs.ErrNotExist
	}
	actual := name
	f, err := dir.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		actual, err = unpack.FoldMatch(dir, name)
		if errors.Is(err, unpack.ErrAmbiguous) {
			err = &unpack.FormatError{Format: "cab", Entry: name, Offset: -1, Err: unpack.ErrUnsupported, Msg: err.Error()}
		}
		if err != nil {
			return Part{}, nil, err
		}
		f, err = dir.Open(actual)
	}
	if err != nil {
		return Part{}, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return Part{}, nil, err
	}
	ra, ok := f.(io.ReaderAt)
	if !st.Mode().IsRegular() || !ok {
		f.Close()
		return Part{}, nil, fmt.Errorf("%q is not a regular file: %w", actual, unpack.ErrUnsupported)
	}
	return Part{R: ra, Size: st.Size(), Name: actual}, f, nil
}
