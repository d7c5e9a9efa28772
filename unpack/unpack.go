// Package unpack holds what every format reader shares: the streaming walk contract, the
// positioned error type, the sentinels and the named limits. Each format lives in its own
// sub-package and exposes an fs.FS over hostile input.
package unpack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Sentinels shared by the readers; each reader wraps them so errors.Is works across formats.
var (
	// ErrFormat: the input is not of the format, or is malformed.
	ErrFormat = errors.New("malformed input")
	// ErrUnsupported: well-formed but uses a feature rollgate does not read (a compression
	// method, encryption, a filesystem).
	ErrUnsupported = errors.New("unsupported feature")
	// ErrLimit: a named limit was exceeded.
	ErrLimit = errors.New("limit exceeded")
	// ErrInsecurePath: a name would leave the archive root.
	ErrInsecurePath = errors.New("insecure path")
)

// FormatError is a malformed-input error that names the entry and the byte offset.
type FormatError struct {
	Format string // "cfb", "msi", "cab", ...
	Entry  string // stream, file or table name; may be empty
	Offset int64  // byte offset in the container, -1 if unknown
	Msg    string
	Err    error // the sentinel, ErrFormat by default
}

func (e *FormatError) Error() string {
	s := e.Format + ": "
	if e.Entry != "" {
		s += fmt.Sprintf("%q: ", e.Entry)
	}
	s += e.Msg
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at 0x%x", e.Offset)
	}
	return s
}

func (e *FormatError) Unwrap() error {
	if e.Err == nil {
		return ErrFormat
	}
	return e.Err
}

// Walker is implemented by readers that can deliver every regular file in storage order,
// decompressing each compressed run once. It is how the inventory streams an installer:
// fs.FS.Open on a compressed archive may have to decode from the start of a block run.
type Walker interface {
	// Walk calls fn once per regular file, in storage order. r is valid only during the
	// call and yields exactly size bytes (or fails). Returning an error from fn stops the walk.
	Walk(fn func(path string, size int64, r io.Reader) error) error
}

// WalkFS walks any fs.FS in lexical order with the Walker contract, for readers whose Open is
// cheap (stored data, random access).
func WalkFS(fsys fs.FS, fn func(path string, size int64, r io.Reader) error) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return fn(p, info.Size(), f)
	})
}

// Common limits; readers may define tighter ones. Options may raise them, never remove them.
const (
	MaxEntries       = 1 << 20  // files or directory entries in one container
	MaxExpandedBytes = 16 << 30 // total decompressed bytes from one container
	MaxDepth         = 8        // containers nested in containers
)

// Errs builds one format's positioned errors, so that every reader words them alike:
//
//	var errs = unpack.Errs("cfb")
//	return errs.Format(name, off, "sector chain loops at sector %d", s)
type Errs string

// Format is a malformed-input error (ErrFormat) at entry and byte offset off (-1: unknown).
func (f Errs) Format(entry string, off int64, msg string, args ...any) error {
	return f.new(ErrFormat, entry, off, msg, args)
}

// Limit is a named limit exceeded (ErrLimit).
func (f Errs) Limit(entry string, off int64, msg string, args ...any) error {
	return f.new(ErrLimit, entry, off, msg, args)
}

// Unsupported is a well-formed feature rollgate does not read (ErrUnsupported).
func (f Errs) Unsupported(entry string, off int64, msg string, args ...any) error {
	return f.new(ErrUnsupported, entry, off, msg, args)
}

func (f Errs) new(sentinel error, entry string, off int64, msg string, args []any) error {
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	return &FormatError{Format: string(f), Entry: entry, Offset: off, Msg: msg, Err: sentinel}
}
