package unpack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// MaxFoldScan bounds the folder entries FoldMatch reads.
const MaxFoldScan = 1 << 16

// foldBatch is how many folder entries FoldMatch reads at a time.
const foldBatch = 256

// ErrAmbiguous is wrapped when two entries of a folder match one name ignoring case.
var ErrAmbiguous = errors.New("two entries match the name ignoring case")

// FoldMatch returns the name of the entry of dir equal to name ignoring case, as Windows
// finds a sibling file (a cabinet set's next part, an installer's slice file), reading at
// most MaxFoldScan entries. No match is fs.ErrNotExist; two matches are ErrAmbiguous (the
// error names both), so a reader never picks one of two files by the order a folder lists.
func FoldMatch(dir fs.FS, name string) (string, error) {
	d, err := dir.Open(".")
	if err != nil {
		return "", err
	}
	defer d.Close()
	rd, ok := d.(fs.ReadDirFile)
	if !ok {
		return "", fs.ErrNotExist
	}
	var found string
	for scanned := 0; scanned < MaxFoldScan; {
		ents, err := rd.ReadDir(foldBatch)
		for _, e := range ents {
			if strings.EqualFold(e.Name(), name) {
				if found != "" {
					return "", fmt.Errorf("both %q and %q match %q: %w", found, e.Name(), name, ErrAmbiguous)
				}
				found = e.Name()
			}
		}
		scanned += len(ents)
		if errors.Is(err, io.EOF) || len(ents) == 0 {
			break
		}
		if err != nil {
			return "", err
		}
	}
	if found == "" {
		return "", fs.ErrNotExist
	}
	return found, nil
}
