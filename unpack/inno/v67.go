package inno

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Setup data 6.5.2 (Inno Setup 6.5.2 to 6.5.4) and 6.7.0 (6.7.0 to 6.7.3), which innoextract
// does not read. It follows Inno Setup's own sources at tags is-6_5_2 and is-6_7_0
// (jrsoftware/issrc): Shared.Struct.pas for the
// records, Setup.MainFunc.pas for the order they are read in, Compression.Base.pas for the
// block format and Setup.FileExtractor.pas for the chunks. Every record is written as its
// String fields (a 32-bit byte length, then UTF-16LE), its AnsiString fields, then the
// packed record's remaining bytes verbatim (Shared.SetupEntFunc.pas SECompressedBlockRead);
// the byte counts below are those remainders. Changes from 6.4:
//
//   - the loader table (revision 2) has 64-bit offsets: ID, revision, total size, setup.e32
//     offset, its size and CRC32, setup-0, setup-1, padding, the table's CRC32;
//   - setup-0's version string is followed by an encryption header and its CRC32 (a full
//     encryption of the headers is not read); from 6.7 a block header's stored size is
//     64-bit;
//   - new header strings and entries ([ISSigKeys]), file entries with download and archive
//     fields, and file locations that name their chunk by a 64-bit start offset and the
//     file by its offset in the decompressed chunk;
//   - an optional 7-Zip library after the wizard images (6.7: six image lists, count -1
//     meaning none).
//
// Setup data 6.5.0 and 6.6.x (other layouts again) are not read.

var (
	v652 = ver(6, 5, 2, 0)
	v670 = ver(6, 7, 0, 0)
)

// layout65 is what differs between the data versions read here: record sizes after the
// strings (Delphi packed records: enums and Booleans 1 byte, sets ceil(n/8) bytes in the
// 32-bit compiler), string counts and the wizard image lists.
type layout65 struct {
	headerStrings int  // String fields of TSetupHeader
	headerPrePriv int  // bytes between the entry counts and PrivilegesRequired
	headerOptions int  // bytes of the header option set
	langStrings   int  // String fields of TSetupLanguageEntry
	langRest      int  // its bytes after the strings
	componentRest int  // TSetupComponentEntry's bytes after the strings
	taskRest      int  // TSetupTaskEntry's
	fileOptions   int  // bytes of the file entry option set
	imageLists    int  // wizard image lists
	darkImages    bool // a count of -1 means "same as the regular images"
	blockSize64   bool // header blocks store a 64-bit size
}

// layouts65 are the data versions read here, from issrc's Shared.Struct.pas and
// Setup.MainFunc.pas at is-6_5_2 (6.5.2 to 6.5.4) and is-6_7_0 (6.7.0 to 6.7.3).
var layouts65 = map[uint32]layout65{
	v652: {headerStrings: 34, headerPrePriv: 52, headerOptions: 6, langStrings: 6, langRest: 21,
		componentRest: 42, taskRest: 26, fileOptions: 5, imageLists: 2},
	v670: {headerStrings: 39, headerPrePriv: 71, headerOptions: 8, langStrings: 4, langRest: 19,
		componentRest: 39, taskRest: 23, fileOptions: 8, imageLists: 6, darkImages: true, blockSize64: true},
}

const (
	loaderTable2Bytes   = 64
	encryptionHeaderLen = 1 + 16 + 4 + 24 + 4 // use, KDF salt, iterations, base nonce, password test
)

// readLoaderTable2 reads a revision 2 loader table at pos.
func (r *Reader) readLoaderTable2(pos int64) (offsets, error) {
	var b [loaderTable2Bytes]byte
	if pos+int64(len(b)) > r.size {
		return offsets{}, errs.Format("loader table", pos, "offset table beyond the end of the %d-byte file", r.size)
	}
	if _, err := r.r.ReadAt(b[:], pos); err != nil {
		return offsets{}, errs.Format("loader table", pos, "reading: %v", err)
	}
	if crc32.ChecksumIEEE(b[:60]) != binary.LittleEndian.Uint32(b[60:]) {
		return offsets{}, errs.Format("loader table", pos+60, "offset table CRC32 mismatch")
	}
	h, d := binary.LittleEndian.Uint64(b[40:]), binary.LittleEndian.Uint64(b[48:])
	if h == 0 || h >= uint64(r.size) {
		return offsets{}, errs.Format("loader table", pos+40, "setup-0 at 0x%x outside the %d-byte file", h, r.size)
	}
	if d >= uint64(r.size) {
		return offsets{}, errs.Format("loader table", pos+48, "setup-1 at 0x%x outside the %d-byte file", d, r.size)
	}
	return offsets{header: int64(h), data: int64(d)}, nil
}

// readEncryptionHeader reads the encryption header after the version string and returns
// where the first header block starts.
func (r *Reader) readEncryptionHeader() (int64, error) {
	off := r.HeaderOffset + 64
	var b [4 + encryptionHeaderLen]byte
	if off+int64(len(b)) > r.size {
		return 0, errs.Format("encryption header", off, "beyond the end of the file")
	}
	if _, err := r.r.ReadAt(b[:], off); err != nil {
		return 0, errs.Format("encryption header", off, "reading: %v", err)
	}
	if crc32.ChecksumIEEE(b[4:]) != binary.LittleEndian.Uint32(b[:]) {
		return 0, errs.Format("encryption header", off, "CRC32 mismatch")
	}
	switch b[4] {
	case 0:
	case 1:
		r.Header.EncryptionUsed = true // files only
	case 2:
		return 0, errs.Unsupported("encryption header", off+4, "encrypted setup headers (full encryption)")
	default:
		return 0, errs.Format("encryption header", off+4, "encryption use %d", b[4])
	}
	return off + int64(len(b)), nil
}

// strings reads n String fields, keeping those whose index is in keep.
func (s *stream) strings(n int, keep map[int]*string) {
	for i := 0; i < n; i++ {
		if p := keep[i]; p != nil {
			*p = s.str()
		} else {
			s.skipBin()
		}
	}
}

// readHeader67 reads TSetupHeader.
func (r *Reader) readHeader67(s *stream) {
	l := layouts65[r.Version.V]
	h := &r.Header
	var sevenZip string
	s.strings(l.headerStrings, map[int]*string{0: &h.AppName, 1: &h.AppVersionedName, 2: &h.AppID, 3: &h.AppCopyright,
		4: &h.AppPublisher, 5: &h.AppPublisherURL, 9: &h.AppVersion, 10: &h.DefaultDirName,
		11: &h.DefaultGroupName, 12: &h.BaseFilename, 14: &h.UninstallName, 33: &sevenZip})
	h.sevenZip = sevenZip != ""
	for i := 0; i < 4; i++ {
		s.skipBin() // license, info before, info after, compiled code
	}
	c := &h.counts
	for _, p := range []*int{&c.languages, &c.messages, &c.permissions, &c.types, &c.components, &c.tasks,
		&c.dirs, &c.issigKeys, &c.files, &c.data, &c.icons, &c.ini, &c.registry, &c.deletes, &c.uninstallDeletes,
		&c.runs, &c.uninstallRuns} {
		*p = s.count("entries")
	}
	s.skip(int64(l.headerPrePriv) - 6) // versions, wizard sizes, styles, colours, disk space
	h.SlicesPerDisk = s.u32()
	s.skip(2) // uninstall log mode, dir exists warning
	h.PrivilegesRequired = int(s.u8())
	s.skip(3) // overrides, language dialog, language detection
	comp := int(s.u8())
	if comp < len(compressionNames) {
		h.Compression = compressionNames[comp]
	} else if s.err == nil {
		s.err = errs.Format("setup header", s.off-1, "compression method %d", comp)
	}
	s.skip(2 + 8 + int64(l.headerOptions)) // disable dir/group pages, uninstall display size, options
}

// readEntries67 reads the entries of the first header block.
func (r *Reader) readEntries67(s *stream) {
	l := layouts65[r.Version.V]
	c := r.Header.counts
	each := func(what string, n int, fn func()) {
		for i := 0; i < n && s.err == nil; i++ {
			s.what = fmt.Sprintf("%s entry %d", what, i)
			fn()
		}
	}
	// skipRecord skips a record of n Strings, a AnsiStrings and rest bytes.
	skipRecord := func(n, a, rest int) func() {
		return func() {
			s.strings(n+a, nil)
			s.skip(int64(rest))
		}
	}
	each("language", c.languages, skipRecord(l.langStrings, 4, l.langRest))
	each("message", c.messages, skipRecord(2, 0, 4))
	each("permission", c.permissions, skipRecord(0, 1, 0))
	each("type", c.types, skipRecord(4, 0, 30))
	each("component", c.components, skipRecord(5, 0, l.componentRest))
	each("task", c.tasks, skipRecord(6, 0, l.taskRest))
	each("directory", c.dirs, skipRecord(7, 0, 27))
	each("ISSig key", c.issigKeys, skipRecord(3, 0, 0))
	each("file", c.files, func() {
		f := &File{}
		s.strings(15, map[int]*string{0: &f.Source, 1: &f.Destination, 4: &f.Components, 5: &f.Tasks, 6: &f.Languages})
		s.skipBin()    // ISSig allowed keys
		s.skip(32 + 1) // verification hash and type
		s.skip(20)     // versions
		f.Location = int(int32(s.u32()))
		s.skip(4 + 8 + 2) // attributes, external size, permission
		f.flags = uint32(s.flags(8 * l.fileOptions))
		f.Temporary = fileFlags.has(uint64(f.flags), "DeleteAfterInstall")
		s.skip(1) // file type
		if s.err == nil {
			r.Files = append(r.Files, f)
		}
	})
	each("icon", c.icons, func() {
		var ic Icon
		s.strings(13, map[int]*string{0: &ic.Name, 1: &ic.Filename, 2: &ic.Parameters, 3: &ic.WorkingDir})
		s.skip(48)
		if s.err == nil {
			r.Icons = append(r.Icons, ic)
		}
	})
	each("INI", c.ini, func() {
		var e INIEntry
		s.strings(10, map[int]*string{0: &e.File, 1: &e.Section, 2: &e.Key, 3: &e.Value})
		if e.File == "" {
			e.File = "{windows}/WIN.INI"
		}
		s.skip(21)
		if s.err == nil {
			r.INI = append(r.INI, e)
		}
	})
	each("registry", c.registry, func() {
		var e RegistryEntry
		var value string
		s.strings(9, map[int]*string{0: &e.Key, 1: &e.Name, 2: &value})
		s.skip(20)
		hive := s.u32()
		s.skip(2)
		typ := s.u8()
		bits := s.flags(12)
		e.Hive, e.Type, e.Value = hiveName(hive), regTypeName(typ), value
		e.DeleteKey, e.DeleteValue = bits&(1<<6) != 0, bits&(1<<7) != 0
		if s.err == nil {
			r.Registry = append(r.Registry, e)
		}
	})
	each("delete", c.deletes, skipRecord(7, 0, 21))
	each("uninstall delete", c.uninstallDeletes, skipRecord(7, 0, 21))
	run := func(uninstall bool) func() {
		return func() {
			e := RunEntry{Uninstall: uninstall}
			s.strings(13, map[int]*string{0: &e.Filename, 1: &e.Parameters, 2: &e.WorkingDir, 5: &e.Verb, 6: &e.Description})
			s.skip(20 + 4 + 1) // versions, show command, wait
			bits := s.flags(12)
			e.ShellExec, e.PostInstall = bits&1 != 0, bits&(1<<2) != 0
			if s.err == nil {
				r.Runs = append(r.Runs, e)
			}
		}
	}
	each("run", c.runs, run(false))
	each("uninstall run", c.uninstallRuns, run(true))
	s.what = "wizard images"
	for k := 0; k < l.imageLists && s.err == nil; k++ { // wizard, small (6.7: back, and dynamic-dark ones)
		n := int32(s.u32())
		if n == -1 && l.darkImages || n == 0 {
			continue
		}
		if n < 0 || n > MaxEntries {
			if s.err == nil {
				s.err = errs.Limit(s.what, s.off-4, "%d wizard images (limit %d)", n, MaxEntries)
			}
			return
		}
		for i := int32(0); i < n && s.err == nil; i++ {
			s.skipBin()
		}
	}
	if r.Header.Compression == "zlib" || r.Header.Compression == "bzip2" {
		s.skipBin() // decompressor DLL
	}
	if r.Header.sevenZip {
		s.skipBin() // 7-Zip library
	}
}

// readDataEntries67 reads TSetupFileLocationEntry records.
func (r *Reader) readDataEntries67(s *stream) {
	for i := 0; i < r.Header.counts.data && s.err == nil; i++ {
		s.what = fmt.Sprintf("data entry %d", i)
		var d dataEntry
		d.firstSlice, d.lastSlice = s.u32(), s.u32()
		d.chunkOffset, d.offset, d.size, d.chunkSize = s.u64(), s.u64(), s.u64(), s.u64()
		d.sum = bytes.Clone(s.read(32))
		d.filetime = int64(s.u64())
		ms, ls := s.u32(), s.u32()
		d.fileVersion = uint64(ms)<<32 | uint64(ls)
		fl := s.u8()
		d.versionValid = fl&1 != 0
		d.callFilter, d.flipFilter = fl&(1<<2) != 0, true
		d.encrypted, d.compressed = fl&(1<<3) != 0, fl&(1<<4) != 0
		const most = 1 << 48
		if s.err == nil && (d.chunkOffset > most || d.size > MaxExpanded || d.offset > MaxExpanded || d.chunkSize > most) {
			s.err = errs.Limit(s.what, s.off, "chunk at %d (%d bytes), file of %d bytes at %d in it", d.chunkOffset, d.chunkSize, d.size, d.offset)
		}
		r.data = append(r.data, d)
	}
}
