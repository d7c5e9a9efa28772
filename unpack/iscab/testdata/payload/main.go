// Command payload writes the files an InstallShield launcher carries (package ishield's
// reading of its overlay) under a folder, for record-unshield.sh to hand the cabinets in
// them to unshield.
//
//	go run ./unpack/iscab/testdata/payload LAUNCHER.exe OUTDIR
package main

import (
	"debug/pe"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/rollgate/rollgate/unpack/ishield"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: payload LAUNCHER.exe OUTDIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "payload:", err)
		os.Exit(1)
	}
}

func run(exe, out string) error {
	fh, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer fh.Close()
	start, stop, err := Overlay(fh)
	if err != nil {
		return err
	}
	r, err := ishield.NewReader(io.NewSectionReader(fh, start, stop-start), stop-start)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(out)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if d.IsDir() {
			return root.MkdirAll(p, 0o755)
		}
		if err := root.MkdirAll(path.Dir(p), 0o755); err != nil {
			return err
		}
		src, err := r.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		dst, err := root.Create(p)
		if err != nil {
			return err
		}
		if _, err := io.Copy(dst, src); err != nil {
			dst.Close()
			return err
		}
		return dst.Close()
	})
}

// Overlay returns where a PE file's overlay lies: after its last section, up to its
// certificate table when it has one.
func Overlay(fh *os.File) (start, stop int64, err error) {
	f, err := pe.NewFile(fh)
	if err != nil {
		return 0, 0, err
	}
	for _, s := range f.Sections {
		start = max(start, int64(s.Offset)+int64(s.Size))
	}
	st, err := fh.Stat()
	if err != nil {
		return 0, 0, err
	}
	stop = st.Size()
	var dd []pe.DataDirectory
	switch h := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		dd = h.DataDirectory[:h.NumberOfRvaAndSizes]
	case *pe.OptionalHeader64:
		dd = h.DataDirectory[:h.NumberOfRvaAndSizes]
	}
	if len(dd) > pe.IMAGE_DIRECTORY_ENTRY_SECURITY && dd[pe.IMAGE_DIRECTORY_ENTRY_SECURITY].Size > 0 {
		stop = int64(dd[pe.IMAGE_DIRECTORY_ENTRY_SECURITY].VirtualAddress)
	}
	return start, stop, nil
}
