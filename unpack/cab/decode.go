package cab

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"sort"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cab/lzx"
	"github.com/rollgate/rollgate/unpack/cab/mszip"
	"github.com/rollgate/rollgate/unpack/cab/quantum"
)

const (
	mszipWindow  = 32768
	mszipHistCap = 4 * mszipWindow // history buffer: one window plus room for several blocks
)

// checksum is the [MS-CAB] CSUMCompute: XOR of little-endian 32-bit words, the 1–3 trailing
// bytes packed most significant first.
func checksum(p []byte, seed uint32) uint32 {
	cs := seed
	n := len(p) &^ 7
	var acc uint64
	for i := 0; i < n; i += 8 {
		acc ^= binary.LittleEndian.Uint64(p[i:])
	}
	cs ^= uint32(acc) ^ uint32(acc>>32)
	p = p[n:]
	if len(p) >= 4 {
		cs ^= binary.LittleEndian.Uint32(p)
		p = p[4:]
	}
	var ul uint32
	switch len(p) {
	case 3:
		ul = uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
	case 2:
		ul = uint32(p[0])<<8 | uint32(p[1])
	case 1:
		ul = uint32(p[0])
	}
	return cs ^ ul
}

// inflater is the part of a flate reader the MSZIP decoder needs.
type inflater interface {
	io.Reader
	flate.Resetter
}

// walkSlack is WalkSlack; tests lower it.
var walkSlack int64 = WalkSlack

// budget caps the bytes one Walk may decode (overlapping files make it decode a folder again).
type budget struct{ left int64 }

func (b *budget) spend(n int) error {
	if b == nil {
		return nil
	}
	b.left -= int64(n)
	if b.left < 0 {
		return fmt.Errorf("cab: walk would decode more than twice the folders' size plus %d bytes (files overlap): %w", walkSlack, unpack.ErrLimit)
	}
	return nil
}

// folderReader yields a folder's uncompressed bytes, decoding each block once.
type folderReader struct {
	r      *Reader
	f      *folder
	pos    int64 // folder offset of the next byte Read returns
	next   int   // next block to decode
	out    []byte
	buf    []byte // payload scratch
	budget *budget
	err    error

	// MSZIP: mz decodes blocks from mzFirst on, several at a time (package mszip); fl, br and
	// hist are the sequential decoder the benchmarks compare it with (newInflater set).
	mz      *mszip.Reader
	mzFirst int
	fl      inflater
	br      bytes.Reader
	hist    []byte

	// Quantum: one CFDATA block at a time (its frames end with padding only the block
	// boundary tells apart).
	qtm  *quantum.Decoder
	qout []byte

	// LZX: the decoder reads the concatenated payloads.
	inner io.Reader
}

func (r *Reader) methodErr(f *folder) error {
	return &unpack.FormatError{Format: "cab", Offset: -1,
		Msg: fmt.Sprintf("folder %d: compression %s (typeCompress 0x%04x) not supported", f.index, f.info.Compression, f.info.TypeCompress),
		Err: unpack.ErrUnsupported}
}

// newFolderReader returns a reader positioned at the start of the folder.
func (r *Reader) newFolderReader(f *folder, b *budget) (*folderReader, error) {
	fr := &folderReader{r: r, f: f, budget: b}
	switch f.method {
	case compNone:
	case compMSZIP:
		if newInflater == nil {
			fr.startMSZIP(0, nil)
		} else {
			fr.hist = make([]byte, 0, mszipHistCap)
		}
	case compQuantum:
		if f.window < quantum.MinWindowBits || f.window > quantum.MaxWindowBits {
			return nil, &unpack.FormatError{Format: "cab", Offset: -1,
				Msg: fmt.Sprintf("folder %d: Quantum window 2^%d outside 2^%d..2^%d", f.index, f.window, quantum.MinWindowBits, quantum.MaxWindowBits)}
		}
		fr.qtm = quantum.NewDecoder(f.window)
	case compLZX:
		inner, err := lzx.NewReader(&payloadReader{fr: fr}, f.window, f.info.Size)
		if err != nil {
			return nil, fmt.Errorf("cab: folder %d (%s): %w", f.index, f.info.Compression, err)
		}
		fr.inner = inner
	default:
		return nil, r.methodErr(f)
	}
	return fr, nil
}

// blockErr names the folder, block and offset of a malformed CFDATA block.
func (fr *folderReader) blockErr(s span, msg string) error {
	c := fr.r.parts[s.cab]
	return &unpack.FormatError{Format: "cab", Entry: c.part.Name, Offset: s.off,
		Msg: fmt.Sprintf("folder %d block %d: %s", fr.f.index, s.block, msg)}
}

// payload reads and checks the CFDATA payload of block i.
func (fr *folderReader) payload(i int) ([]byte, error) {
	b := &fr.f.blocks[i]
	n := b.compressedLen()
	if cap(fr.buf) < n {
		fr.buf = make([]byte, n)
	}
	buf := fr.buf[:n]
	pos := 0
	read := func(s span, uncomp uint16) error {
		c := fr.r.parts[s.cab]
		p := buf[pos : pos+int(s.n)]
		if err := readFull(c.part, p, s.data); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fr.blockErr(s, "truncated")
			}
			return fmt.Errorf("cab: %sreading at 0x%x: %w", cabName(c), s.data, err)
		}
		if s.csum != 0 {
			var h [4]byte
			binary.LittleEndian.PutUint16(h[0:], s.n)
			binary.LittleEndian.PutUint16(h[2:], uncomp)
			if got := checksum(h[:], checksum(p, 0)); got != s.csum {
				return fr.blockErr(s, fmt.Sprintf("CFDATA checksum 0x%08x, computed 0x%08x", s.csum, got))
			}
		}
		pos += int(s.n)
		return nil
	}
	first := b.uncomp
	if len(b.extra) > 0 {
		first = 0 // the first part of a split block stores cbUncomp 0
	}
	if err := read(b.span, first); err != nil {
		return nil, err
	}
	for j, s := range b.extra {
		u := uint16(0)
		if j == len(b.extra)-1 {
			u = b.uncomp
		}
		if err := read(s, u); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// ckptInterval is the distance in blocks between a folder's MSZIP restart points.
func (f *folder) ckptInterval() int {
	return max(checkpointEvery, (len(f.blocks)+maxFolderCkpts-1)/maxFolderCkpts)
}

// checkpoint records where MSZIP decoding can restart: before block next, with the last
// 32 KiB of output that hist returns. File.Open uses it to avoid decoding the folder from its
// start.
func (fr *folderReader) checkpoint(next int, hist func() []byte) {
	f, r := fr.f, fr.r
	if next == 0 || next >= len(f.blocks) || next%f.ckptInterval() != 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, found := slices.BinarySearchFunc(f.ckpts, next, func(c checkpoint, b int) int { return c.block - b })
	if found || r.ckptBytes+mszipWindow > MaxCheckpoints {
		return
	}
	h := hist()
	h = slices.Clone(h[len(h)-min(len(h), mszipWindow):])
	r.ckptBytes += int64(len(h))
	f.ckpts = slices.Insert(f.ckpts, i, checkpoint{block: next, hist: h})
}

// mszipWorkers is how many goroutines decode MSZIP blocks; 0 means GOMAXPROCS.
var mszipWorkers = 0

// startMSZIP starts the parallel MSZIP decoder at block first, after the output dict.
func (fr *folderReader) startMSZIP(first int, dict []byte) {
	workers := mszipWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	fr.mzFirst = first
	fr.mz = mszip.NewReaderDict(&mszipBlocks{fr: fr, next: first}, fr.f.info.Size-fr.f.starts[first], workers, dict)
}

// mszipBlocks hands the folder's CFDATA payloads, checked, to the MSZIP decoder.
type mszipBlocks struct {
	fr   *folderReader
	next int
}

func (s *mszipBlocks) Next() ([]byte, int, error) {
	if s.next >= len(s.fr.f.blocks) {
		return nil, 0, io.EOF
	}
	p, err := s.fr.payload(s.next)
	if err != nil {
		return nil, 0, err
	}
	s.next++
	return p, int(s.fr.f.blocks[s.next-1].uncomp), nil
}

// mszipErr places an error of the MSZIP decoder on its block.
func (fr *folderReader) mszipErr(err error) error {
	var e *mszip.Error
	if !errors.As(err, &e) {
		return err // from payload: already placed
	}
	if i := fr.mzFirst + e.Block; i < len(fr.f.blocks) {
		fe := fr.blockErr(fr.f.blocks[i].span, "MSZIP: "+e.Msg).(*unpack.FormatError)
		fe.Err = e.Err
		return fe
	}
	return &unpack.FormatError{Format: "cab", Offset: -1, Msg: fmt.Sprintf("folder %d: MSZIP: %s", fr.f.index, e.Msg), Err: e.Err}
}

// restart returns a reader of an MSZIP folder positioned at its last restart point at or
// before folder offset off, or nil.
func (r *Reader) restart(f *folder, off int64) *folderReader {
	if f.method != compMSZIP {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := sort.Search(len(f.ckpts), func(i int) bool { return f.starts[f.ckpts[i].block] > off })
	if i == 0 {
		return nil
	}
	c := f.ckpts[i-1]
	fr := &folderReader{r: r, f: f, next: c.block, pos: f.starts[c.block]}
	if newInflater == nil {
		fr.startMSZIP(c.block, c.hist)
		return fr
	}
	fr.hist = make([]byte, 0, mszipHistCap)
	fr.hist = append(fr.hist, c.hist...)
	return fr
}

// decodeBlock fills fr.out with the output of the next block.
func (fr *folderReader) decodeBlock() error {
	i := fr.next
	b := &fr.f.blocks[i]
	p, err := fr.payload(i)
	if err != nil {
		return err
	}
	switch fr.f.method {
	case compNone:
		if len(p) != int(b.uncomp) {
			return fr.blockErr(b.span, fmt.Sprintf("stored block has cbData %d, cbUncomp %d", len(p), b.uncomp))
		}
		fr.out = p
	case compMSZIP:
		fr.checkpoint(fr.next, func() []byte { return fr.hist })
		if len(p) < 2 || p[0] != 'C' || p[1] != 'K' {
			return fr.blockErr(b.span, "MSZIP block lacks the CK signature")
		}
		// The dictionary is the last 32 KiB of output; decode straight after it.
		if len(fr.hist)+int(b.uncomp) > cap(fr.hist) {
			keep := fr.hist[len(fr.hist)-min(len(fr.hist), mszipWindow):]
			fr.hist = fr.hist[:copy(fr.hist[:cap(fr.hist)], keep)]
		}
		dict := fr.hist[len(fr.hist)-min(len(fr.hist), mszipWindow):]
		fr.br.Reset(p[2:])
		if fr.fl == nil {
			fr.fl = newInflater(&fr.br, dict)
		} else if err := fr.fl.Reset(&fr.br, dict); err != nil {
			return fr.blockErr(b.span, err.Error())
		}
		n := len(fr.hist)
		out := fr.hist[n : n+int(b.uncomp)]
		if _, err := io.ReadFull(fr.fl, out); err != nil {
			return fr.blockErr(b.span, fmt.Sprintf("MSZIP: %v", err))
		}
		var one [1]byte
		if k, err := fr.fl.Read(one[:]); k != 0 || err != io.EOF {
			if err != nil && err != io.EOF {
				return fr.blockErr(b.span, fmt.Sprintf("MSZIP: %v", err))
			}
			return fr.blockErr(b.span, fmt.Sprintf("MSZIP block decodes to more than cbUncomp %d bytes", b.uncomp))
		}
		fr.hist = fr.hist[:n+int(b.uncomp)]
		fr.out = out
	case compQuantum:
		if fr.qout == nil {
			fr.qout = make([]byte, MaxBlockBytes)
		}
		out := fr.qout[:b.uncomp]
		if err := fr.qtm.Decode(out, p); err != nil {
			return fmt.Errorf("cab: %sfolder %d block %d at 0x%x: %w", cabName(fr.r.parts[b.cab]), fr.f.index, b.block, b.off, err)
		}
		fr.out = out
	}
	if err := fr.budget.spend(len(fr.out)); err != nil {
		return err
	}
	fr.next++
	return nil
}

func (fr *folderReader) Read(p []byte) (int, error) {
	if fr.err != nil {
		return 0, fr.err
	}
	if fr.pos >= fr.f.info.Size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if fr.mz != nil {
		if rem := fr.f.info.Size - fr.pos; int64(len(p)) > rem {
			p = p[:rem]
		}
		n, err := fr.mz.Read(p)
		fr.pos += int64(n)
		if e := fr.budget.spend(n); e != nil {
			fr.err = e
			return n, e
		}
		if k, ok := fr.mz.Boundary(); ok {
			fr.checkpoint(fr.mzFirst+k, fr.mz.History)
		}
		if err != nil && err != io.EOF {
			fr.err = fr.mszipErr(err)
			return n, fr.err
		}
		return n, err
	}
	if fr.inner != nil {
		if rem := fr.f.info.Size - fr.pos; int64(len(p)) > rem {
			p = p[:rem]
		}
		n, err := fr.inner.Read(p)
		fr.pos += int64(n)
		if e := fr.budget.spend(n); e != nil {
			fr.err = e
			return n, e
		}
		if err == io.EOF && fr.pos < fr.f.info.Size {
			err = &unpack.FormatError{Format: "cab", Offset: -1,
				Msg: fmt.Sprintf("folder %d: %s data ends after %d of %d bytes", fr.f.index, fr.f.info.Compression, fr.pos, fr.f.info.Size)}
		} else if err != nil && err != io.EOF {
			err = fmt.Errorf("cab: folder %d (%s) at byte %d: %w", fr.f.index, fr.f.info.Compression, fr.pos, err)
		}
		if err != nil && err != io.EOF {
			fr.err = err
		}
		return n, err
	}
	for len(fr.out) == 0 {
		if err := fr.decodeBlock(); err != nil {
			fr.err = err
			return 0, err
		}
	}
	n := copy(p, fr.out)
	fr.out = fr.out[n:]
	fr.pos += int64(n)
	return n, nil
}

// skipTo advances to folder offset off (≥ fr.pos). Stored folders jump over whole blocks.
func (fr *folderReader) skipTo(off int64) error {
	if off < fr.pos {
		return fmt.Errorf("cab: internal: skip backwards from %d to %d", fr.pos, off)
	}
	if fr.err != nil {
		return fr.err
	}
	if d := off - fr.pos; d <= int64(len(fr.out)) {
		fr.out = fr.out[d:]
		fr.pos = off
		return nil
	}
	if fr.f.method == compNone && fr.inner == nil {
		i := sort.Search(len(fr.f.blocks), func(i int) bool { return fr.f.starts[i+1] > off })
		if i >= len(fr.f.blocks) {
			fr.pos, fr.out, fr.next = fr.f.info.Size, nil, len(fr.f.blocks)
			return nil
		}
		fr.out, fr.next, fr.pos = nil, i, fr.f.starts[i]
		if err := fr.decodeBlock(); err != nil {
			fr.err = err
			return err
		}
		d := off - fr.pos
		fr.out = fr.out[d:]
		fr.pos = off
		return nil
	}
	_, err := io.CopyN(io.Discard, fr, off-fr.pos)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// payloadReader yields the folder's CFDATA payloads concatenated, for LZX and Quantum.
type payloadReader struct {
	fr   *folderReader
	next int
	cur  []byte
}

func (pr *payloadReader) Read(p []byte) (int, error) {
	for len(pr.cur) == 0 {
		if pr.next >= len(pr.fr.f.blocks) {
			return 0, io.EOF
		}
		b, err := pr.fr.payload(pr.next)
		if err != nil {
			return 0, err
		}
		pr.next++
		pr.cur = b
	}
	n := copy(p, pr.cur)
	pr.cur = pr.cur[n:]
	return n, nil
}

// fileReader yields one file's bytes from a folder reader.
type fileReader struct {
	fr    *folderReader
	left  int64
	name  string
	owner *Reader // set when fr may be handed back as the Reader's idle cursor
}

// release hands the folder reader back to the Reader, so that opening a later file of the
// same folder continues from here instead of decoding the folder from its start again.
func (f *fileReader) release() {
	if f.owner == nil || f.fr == nil {
		return
	}
	if f.fr.err == nil {
		f.owner.mu.Lock()
		f.owner.cursor = f.fr
		f.owner.mu.Unlock()
	}
	f.fr, f.owner = nil, nil
}

func (f *fileReader) Read(p []byte) (int, error) {
	if f.left <= 0 {
		f.release()
		return 0, io.EOF
	}
	if f.fr == nil {
		return 0, &unpack.FormatError{Format: "cab", Entry: f.name, Offset: -1, Msg: "read after close", Err: fs.ErrClosed}
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.fr.Read(p)
	f.left -= int64(n)
	if err == io.EOF {
		if f.left > 0 {
			return n, &unpack.FormatError{Format: "cab", Entry: f.name, Offset: -1, Msg: "folder data ends inside the file"}
		}
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("reading %q: %w", f.name, err)
	}
	return n, err
}

func (f *fileReader) Close() error {
	f.release()
	f.left, f.fr = 0, nil
	return nil
}

// Open returns the file's bytes. It decodes the file's folder from its start, except that
// stored folders jump to the right block, MSZIP folders restart from the nearest restart
// point recorded by an earlier decode (every 1 MiB or more, up to MaxCheckpoints bytes per
// Reader), and a reader left idle by the previous file of the same folder is continued.
// Reading files in storage order is thus linear; LZX and Quantum folders read in another
// order may be quadratic. Walk always decodes each folder once.
func (f *File) Open() (io.ReadCloser, error) {
	r := f.r
	if f.Size == 0 {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	fo := r.folders[f.Folder]
	r.mu.Lock()
	fr := r.cursor
	if fr != nil && fr.f == fo && fr.pos <= int64(f.Offset) {
		r.cursor = nil
	} else {
		fr = nil
	}
	r.mu.Unlock()
	if rs := r.restart(fo, int64(f.Offset)); rs != nil && (fr == nil || rs.pos > fr.pos) {
		if fr != nil {
			r.mu.Lock()
			r.cursor = fr // still useful for a later file
			r.mu.Unlock()
		}
		fr = rs
	}
	if fr == nil {
		var err error
		if fr, err = r.newFolderReader(fo, nil); err != nil {
			return nil, fmt.Errorf("opening %q: %w", f.Name, err)
		}
	}
	if err := fr.skipTo(int64(f.Offset)); err != nil {
		return nil, fmt.Errorf("opening %q: %w", f.Name, err)
	}
	return &fileReader{fr: fr, left: f.Size, name: f.Name, owner: r}, nil
}

// Walk calls fn for every file in storage order (by folder, then by offset in the folder),
// decoding each folder once. Files that overlap an earlier file of the same folder make it
// decode the folder again; all decoding in one Walk is capped at twice the folders' total
// plus WalkSlack (and at MaxExpanded), else ErrLimit.
// rd yields exactly size bytes and is valid only during the call.
//
// A folder whose compression is not supported is skipped: the other files are still
// delivered and Walk then returns an error wrapping unpack.ErrUnsupported per skipped folder.
// Malformed data, a limit or an error from fn stops the walk at once.
func (r *Reader) Walk(fn func(path string, size int64, rd io.Reader) error) error {
	order := make([]*File, len(r.files))
	copy(order, r.files)
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.Folder != b.Folder {
			return a.Folder < b.Folder
		}
		return a.Offset < b.Offset
	})
	// Decoding each folder once costs the folders' total; overlapping files may decode again,
	// up to as much again plus WalkSlack, so a small hostile cabinet cannot multiply its work.
	var total int64
	for _, fo := range r.folders {
		total += fo.info.Size
	}
	bud := &budget{left: min(2*total+walkSlack, MaxExpanded)}
	var (
		fr          *folderReader
		unsupported []error
		skip        = -1 // folder whose method is not supported
	)
	for _, f := range order {
		fo := r.folders[f.Folder]
		if f.Size == 0 {
			if err := fn(f.Name, 0, bytes.NewReader(nil)); err != nil {
				return err
			}
			continue
		}
		if f.Folder == skip {
			continue
		}
		if fr == nil || fr.f != fo || int64(f.Offset) < fr.pos {
			var err error
			if fr, err = r.newFolderReader(fo, bud); err != nil {
				if errors.Is(err, unpack.ErrUnsupported) {
					unsupported = append(unsupported, fmt.Errorf("reading %q: %w", f.Name, err))
					skip, fr = f.Folder, nil
					continue
				}
				return fmt.Errorf("reading %q: %w", f.Name, err)
			}
		}
		if err := fr.skipTo(int64(f.Offset)); err != nil {
			return fmt.Errorf("reading %q: %w", f.Name, err)
		}
		if err := fn(f.Name, f.Size, &fileReader{fr: fr, left: f.Size, name: f.Name}); err != nil {
			return err
		}
	}
	return errors.Join(unsupported...)
}

// newInflater, when set, makes MSZIP folders decode sequentially with that flate reader
// instead of package mszip's parallel decoder: BenchmarkMSZIP compares the candidates.
// Package mszip's BenchmarkMSZIPParallel measured (2 cores): mszip 1 worker 265 MB per CPU
// second, klauspost 199, stdlib 127; with 2 workers the wall time halves.
var newInflater func(r io.Reader, dict []byte) inflater
