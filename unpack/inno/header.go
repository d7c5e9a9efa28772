package inno

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/rollgate/rollgate/unpack"
)

// Version is a setup data version: a.b.c.d packed one byte each, and its charset.
type Version struct {
	V       uint32
	Unicode bool
	Text    string // the stored version string
}

func ver(a, b, c, d uint32) uint32 { return a<<24 | b<<16 | c<<8 | d }

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.V>>24, v.V>>16&0xff, v.V>>8&0xff)
	if d := v.V & 0xff; d != 0 {
		s += fmt.Sprintf(".%d", d)
	}
	if v.Unicode {
		s += " (unicode)"
	}
	return s
}

// The versions read: 5.2.5 (strings after the counts, strong assembly names) up to the last
// 6.4 release (6.5 changed the loader table).
var (
	minVersion = ver(5, 2, 5, 0)
	endVersion = ver(6, 5, 0, 0)
)

// parseVersion reads the 64-byte version string the way innoextract does for strings it
// does not know: the largest "(a.b.c[.d])" in a string that names Inno Setup; Unicode when
// it says "(u)"/"(U)" or is 6.3.0 or later.
func parseVersion(raw []byte) (Version, error) {
	s := string(raw)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if !strings.Contains(s, "Inno Setup") {
		return Version{}, fmt.Errorf("setup data version string %q", s)
	}
	var best uint32
	for rest := s; ; {
		i := strings.IndexByte(rest, '(')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		j := strings.IndexByte(rest, ')')
		if j < 0 {
			break
		}
		parts := strings.Split(strings.TrimSuffix(rest[:j], "a"), ".")
		if len(parts) < 3 || len(parts) > 4 {
			continue
		}
		var v uint32
		ok := true
		for k := 0; k < 4; k++ {
			n := uint64(0)
			if k < len(parts) {
				var err error
				n, err = strconv.ParseUint(parts[k], 10, 8)
				if err != nil {
					ok = false
					break
				}
			}
			v = v<<8 | uint32(n)
		}
		if ok {
			best = max(best, v)
		}
	}
	if best == 0 {
		return Version{}, fmt.Errorf("no version number in %q", s)
	}
	u := best >= ver(6, 3, 0, 0) || strings.Contains(s, "(u)") || strings.Contains(s, "(U)")
	return Version{V: best, Unicode: u, Text: s}, nil
}

// candidates lists the versions to try for a stored one: innoextract's ambiguous data
// versions (a variant that kept an older version string) are retried as the next ones.
func candidates(v uint32) []uint32 {
	switch v {
	case ver(5, 3, 10, 0):
		return []uint32{v, ver(5, 3, 10, 1)}
	case ver(5, 4, 2, 0):
		return []uint32{v, ver(5, 4, 2, 1)}
	case ver(5, 5, 0, 0):
		return []uint32{v, ver(5, 5, 0, 1)}
	case ver(5, 5, 7, 0):
		return []uint32{v, ver(5, 5, 7, 1), ver(5, 6, 0, 0)}
	}
	return []uint32{v}
}

// Header is what rollgate keeps of the setup header.
type Header struct {
	AppName, AppVersionedName, AppID, AppVersion string
	AppPublisher, AppCopyright, AppPublisherURL  string
	DefaultDirName, DefaultGroupName             string
	UninstallName, BaseFilename                  string
	// Compression is the file chunks' method: "stored", "zlib", "bzip2", "lzma1", "lzma2".
	Compression    string
	EncryptionUsed bool
	// PrivilegesRequired: 0 none, 1 power user, 2 admin, 3 lowest.
	PrivilegesRequired int
	// SlicesPerDisk groups the slice files of a disk-spanning installer under one disk
	// number (slice.go).
	SlicesPerDisk uint32

	counts   headerCounts
	sevenZip bool // 6.7: a 7-Zip library is stored after the wizard images
}

type headerCounts struct {
	languages, messages, permissions, types, components, tasks, dirs, issigKeys, files, data,
	icons, ini, registry, deletes, uninstallDeletes, runs, uninstallRuns int
}

var compressionNames = []string{"stored", "zlib", "bzip2", "lzma1", "lzma2"}

// readSetup0 reads the version string and both header blocks.
func (r *Reader) readSetup0() error {
	var raw [64]byte
	if _, err := r.r.ReadAt(raw[:], r.HeaderOffset); err != nil {
		return errs.Format("setup-0", r.HeaderOffset, "reading the version string: %v", err)
	}
	if raw[0] == 'i' && raw[11] == 0x1a {
		return errs.Unsupported("setup-0", r.HeaderOffset, "Inno Setup 1.2 setup data")
	}
	v, err := parseVersion(raw[:])
	if err != nil {
		return errs.Format("setup-0", r.HeaderOffset, "%v", err)
	}
	if _, ok := layouts65[v.V]; v.V < minVersion || v.V >= endVersion && !ok {
		return errs.Unsupported("setup-0", r.HeaderOffset, "setup data version %s (this reader reads 5.2.5 to 6.4.3, 6.5.2 and 6.7.0)", v)
	}
	var first error
	for _, c := range candidates(v.V) {
		try := *r
		try.Version = v
		try.Version.V = c
		err := try.readHeaders()
		if err == nil {
			*r = try
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// readHeaders reads the two header blocks for r.Version.
func (r *Reader) readHeaders() error {
	r.Files, r.Registry, r.Runs, r.Icons, r.INI, r.data = nil, nil, nil, nil, nil, nil
	off := r.HeaderOffset + 64
	_, v67 := layouts65[r.Version.V]
	if v67 {
		var err error
		if off, err = r.readEncryptionHeader(); err != nil {
			return err
		}
	}
	b1, next, err := r.openBlock(off, "setup header")
	if err != nil {
		return err
	}
	s := &stream{r: b1, what: "setup header", unicode: r.Version.Unicode}
	if v67 {
		r.readHeader67(s)
		r.readEntries67(s)
	} else {
		r.readHeader(s)
		r.readEntries(s)
	}
	s.atEnd()
	if s.err != nil {
		return s.err
	}
	b2, _, err := r.openBlock(next, "data entries")
	if err != nil {
		return err
	}
	s = &stream{r: b2, what: "data entries", unicode: r.Version.Unicode}
	if v67 {
		r.readDataEntries67(s)
	} else {
		r.readDataEntries(s)
	}
	s.atEnd()
	if s.err != nil {
		return s.err
	}
	return r.resolveFiles()
}

// readHeader reads the setup header (innoextract src/setup/header.cpp, versions 5.2.5+).
func (r *Reader) readHeader(s *stream) {
	v := r.Version.V
	h := &r.Header
	h.AppName = s.str()
	h.AppVersionedName = s.str()
	h.AppID = s.str()
	h.AppCopyright = s.str()
	h.AppPublisher = s.str()
	h.AppPublisherURL = s.str()
	s.skipBin() // support phone
	s.skipBin() // support URL
	s.skipBin() // updates URL
	h.AppVersion = s.str()
	h.DefaultDirName = s.str()
	h.DefaultGroupName = s.str()
	h.BaseFilename = s.str()
	s.skipBin() // uninstall files dir
	h.UninstallName = s.str()
	n := 9 // uninstall icon, mutex, user name, organisation, serial, readme, contact,
	// comments, modify path
	if v >= ver(5, 3, 8, 0) {
		n++ // create uninstall registry key
	}
	if v >= ver(5, 3, 10, 0) {
		n++ // uninstallable
	}
	if v >= ver(5, 5, 0, 0) {
		n++ // close applications filter
	}
	if v >= ver(5, 5, 6, 0) {
		n++ // setup mutex
	}
	if v >= ver(5, 6, 1, 0) {
		n += 2 // changes environment, changes associations
	}
	if v >= ver(6, 3, 0, 0) {
		n += 2 // architecture expressions
	}
	if v >= ver(6, 4, 2, 0) {
		n++ // close applications filter excludes (issrc Shared.Struct.pas, is-6_4_2)
	}
	n += 3 // license, info before, info after
	if v < ver(5, 3, 10, 0) {
		n++ // uninstaller signature
	}
	n++ // compiled code
	for i := 0; i < n; i++ {
		s.skipBin()
	}
	if !r.Version.Unicode {
		s.skip(32) // lead bytes
	}
	c := &h.counts
	for _, p := range []*int{&c.languages, &c.messages, &c.permissions, &c.types, &c.components, &c.tasks,
		&c.dirs, &c.files, &c.data, &c.icons, &c.ini, &c.registry, &c.deletes, &c.uninstallDeletes,
		&c.runs, &c.uninstallRuns} {
		*p = s.count("entries")
	}
	s.skip(20) // Windows version range
	if v < ver(6, 4, 0, 1) {
		s.skip(8) // back colours
	}
	if v < ver(5, 5, 7, 0) {
		s.skip(4) // image back colour
	}
	if v >= ver(6, 0, 0, 0) {
		s.skip(1 + 8) // wizard style, resize percentages
	}
	if v >= ver(5, 5, 7, 0) {
		s.skip(1) // image alpha format
	}
	switch {
	case v >= ver(6, 4, 0, 0):
		s.skip(4 + 44) // password check, PBKDF2 salt, iterations and nonce
	case v >= ver(5, 3, 9, 0):
		s.skip(20 + 8) // SHA-1 password hash, salt
	default:
		s.skip(16 + 8) // MD5 password hash, salt
	}
	s.skip(8) // extra disk space
	h.SlicesPerDisk = s.u32()
	s.skip(2) // uninstall log mode, dir exists warning
	h.PrivilegesRequired = int(s.u8())
	if v >= ver(6, 0, 0, 0) {
		s.skip(1) // privileges override flags
	}
	s.skip(2) // show language dialog, language detection
	comp := int(s.u8())
	if comp < len(compressionNames) {
		h.Compression = compressionNames[comp]
	} else if s.err == nil {
		s.err = errs.Format("setup header", s.off-1, "compression method %d", comp)
	}
	if v < ver(6, 3, 0, 0) {
		s.skip(2) // architectures allowed, installed in 64-bit mode
	}
	if v < ver(5, 3, 10, 0) {
		s.skip(8) // signed uninstaller size and header checksum
	}
	if v >= ver(5, 3, 3, 0) {
		s.skip(2) // disable dir page, disable program group page
	}
	switch {
	case v >= ver(5, 5, 0, 0):
		s.skip(8) // uninstall display size
	case v >= ver(5, 3, 6, 0):
		s.skip(4)
	}
	if v == ver(5, 3, 10, 1) || v == ver(5, 4, 2, 1) || v == ver(5, 5, 0, 1) {
		s.skip(1) // the BlackBox variant's extra byte
	}
	var f flagSet
	f.add("DisableStartupPrompt", true)
	f.add("Uninstallable", v < ver(5, 3, 10, 0))
	f.add("CreateAppDir", true)
	f.add("DisableDirPage", v < ver(5, 3, 3, 0))
	f.add("DisableProgramGroupPage", v < ver(5, 3, 3, 0))
	for _, name := range []string{"AllowNoIcons", "AlwaysRestart", "AlwaysUsePersonalGroup"} {
		f.add(name, true)
	}
	for _, name := range []string{"WindowVisible", "WindowShowCaption", "WindowResizable", "WindowStartMaximized"} {
		f.add(name, v < ver(6, 4, 0, 1))
	}
	for _, name := range []string{"EnableDirDoesntExistWarning", "Password", "AllowRootDirectory", "DisableFinishedPage"} {
		f.add(name, true)
	}
	f.add("ChangesAssociations", v < ver(5, 6, 1, 0))
	f.add("CreateUninstallRegKey", v < ver(5, 3, 8, 0))
	f.add("UsePreviousAppDir", true)
	f.add("BackColorHorizontal", v < ver(6, 4, 0, 1))
	for _, name := range []string{"UsePreviousGroup", "UpdateUninstallLogAppName", "UsePreviousSetupType",
		"DisableReadyMemo", "AlwaysShowComponentsList", "FlatComponentsList", "ShowComponentSizes",
		"UsePreviousTasks", "DisableReadyPage", "AlwaysShowDirOnReadyPage", "AlwaysShowGroupOnReadyPage",
		"AllowUNCPath", "UserInfoPage", "UsePreviousUserInfo", "UninstallRestartComputer",
		"RestartIfNeededByRun", "ShowTasksTreeLines", "AllowCancelDuringInstall", "WizardImageStretch",
		"AppendDefaultDirName", "AppendDefaultGroupName", "EncryptionUsed"} {
		f.add(name, true)
	}
	f.add("ChangesEnvironment", v < ver(5, 6, 1, 0))
	f.add("ShowUndisplayableLanguages", !r.Version.Unicode)
	f.add("SetupLogging", true)
	f.add("SignedUninstaller", true)
	f.add("UsePreviousLanguage", v >= ver(5, 3, 8, 0))
	f.add("DisableWelcomePage", v >= ver(5, 3, 9, 0))
	for _, name := range []string{"CloseApplications", "RestartApplications", "AllowNetworkDrive"} {
		f.add(name, v >= ver(5, 5, 0, 0))
	}
	f.add("ForceCloseApplications", v >= ver(5, 5, 7, 0))
	for _, name := range []string{"AppNameHasConsts", "UsePreviousPrivileges", "WizardResizable"} {
		f.add(name, v >= ver(6, 0, 0, 0))
	}
	f.add("UninstallLogging", v >= ver(6, 3, 0, 0))
	bits := s.flags(f.n)
	h.EncryptionUsed = f.has(bits, "EncryptionUsed")
}

// conditions skips an item's condition strings: components, tasks, languages, check,
// after install, before install (innoextract src/setup/item.cpp).
func (s *stream) conditions() (components, tasks, languages string) {
	components, tasks, languages = s.str(), s.str(), s.str()
	s.skipBin()
	s.skipBin()
	s.skipBin()
	return
}

const winverBytes = 20 // Windows version range: two (build, minor, major) pairs and SPs each

// readEntries reads the entries of the first header block (innoextract src/setup/info.cpp).
func (r *Reader) readEntries(s *stream) {
	v := r.Version.V
	c := r.Header.counts
	each := func(what string, n int, fn func(i int)) {
		for i := 0; i < n && s.err == nil; i++ {
			s.what = fmt.Sprintf("%s entry %d", what, i)
			fn(i)
		}
	}
	each("language", c.languages, func(int) {
		n := 10
		if v == ver(5, 5, 7, 1) {
			n++
		}
		for k := 0; k < n; k++ {
			s.skipBin()
		}
		s.skip(4) // language id
		if !r.Version.Unicode || v < ver(5, 3, 0, 0) {
			s.skip(4) // codepage (ignored by Unicode installers before 5.3.0)
		}
		s.skip(16) // font sizes
		if v == ver(5, 5, 7, 1) {
			s.skip(4)
		}
		s.skip(1) // right to left
	})
	each("message", c.messages, func(int) { s.skipBin(); s.skipBin(); s.skip(4) })
	each("permission", c.permissions, func(int) { s.skipBin() })
	each("type", c.types, func(int) {
		for k := 0; k < 4; k++ {
			s.skipBin()
		}
		s.skip(winverBytes + 1 + 1 + 8) // flags, setup type, size
	})
	each("component", c.components, func(int) {
		for k := 0; k < 5; k++ {
			s.skipBin()
		}
		s.skip(8 + 4 + 1 + winverBytes + 1 + 8) // extra space, level, used, flags, size
	})
	each("task", c.tasks, func(int) {
		for k := 0; k < 6; k++ {
			s.skipBin()
		}
		s.skip(4 + 1 + winverBytes + 1) // level, used, flags
	})
	each("directory", c.dirs, func(int) {
		s.skipBin()
		s.conditions()
		s.skip(4 + winverBytes + 2 + 1) // attributes, permission, flags
	})
	ff := fileFlags
	each("file", c.files, func(i int) {
		f := &File{Source: s.str(), Destination: s.str()}
		s.skipBin() // font name
		s.skipBin() // strong assembly name
		f.Components, f.Tasks, f.Languages = s.conditions()
		s.skip(winverBytes)
		f.Location = int(int32(s.u32()))
		s.skip(4 + 8 + 2) // attributes, external size, permission
		f.flags = uint32(s.flags(ff.n))
		f.Temporary = ff.has(uint64(f.flags), "DeleteAfterInstall")
		s.skip(1) // file type
		if s.err == nil {
			r.Files = append(r.Files, f)
		}
	})
	each("icon", c.icons, func(int) {
		ic := Icon{Name: s.str(), Filename: s.str(), Parameters: s.str(), WorkingDir: s.str()}
		s.skipBin() // icon file
		s.skipBin() // comment
		s.conditions()
		if v >= ver(5, 3, 5, 0) {
			s.skipBin() // AppUserModelID
		}
		if v >= ver(6, 1, 0, 0) {
			s.skip(16) // toast activator CLSID
		}
		s.skip(winverBytes + 4 + 4 + 1 + 2) // icon index, show command, close on exit, hotkey
		var fl flagSet
		for _, name := range []string{"NeverUninstall", "CreateOnlyIfFileExists", "UseAppPaths"} {
			fl.add(name, true)
		}
		fl.add("FolderShortcut", v < ver(6, 3, 0, 0))
		fl.add("ExcludeFromShowInNewInstall", v >= ver(5, 4, 2, 0))
		fl.add("PreventPinning", v >= ver(5, 5, 0, 0))
		fl.add("HasAppUserModelToastActivatorCLSID", v >= ver(6, 1, 0, 0))
		s.flags(fl.n)
		if s.err == nil {
			r.Icons = append(r.Icons, ic)
		}
	})
	each("INI", c.ini, func(int) {
		e := INIEntry{File: s.str(), Section: s.str(), Key: s.str(), Value: s.str()}
		if e.File == "" {
			e.File = "{windows}/WIN.INI"
		}
		s.conditions()
		s.skip(winverBytes + 1)
		if s.err == nil {
			r.INI = append(r.INI, e)
		}
	})
	each("registry", c.registry, func(int) {
		e := RegistryEntry{Key: s.str(), Name: s.str()}
		raw := s.bin()
		s.conditions()
		s.skip(winverBytes)
		hive := s.u32()
		s.skip(2) // permission
		typ := s.u8()
		var fl flagSet
		for _, name := range []string{"CreateValueIfDoesntExist", "UninsDeleteValue", "UninsClearValue",
			"UninsDeleteEntireKey", "UninsDeleteEntireKeyIfEmpty", "PreserveStringType", "DeleteKey",
			"DeleteValue", "NoError", "DontCreateKey", "Bits32", "Bits64"} {
			fl.add(name, true)
		}
		bits := s.flags(fl.n)
		e.Hive = hiveName(hive)
		e.Type = regTypeName(typ)
		e.Value = regValue(s, typ, raw)
		e.DeleteKey = fl.has(bits, "DeleteKey")
		e.DeleteValue = fl.has(bits, "DeleteValue")
		if s.err == nil {
			r.Registry = append(r.Registry, e)
		}
	})
	deletes := func(int) {
		s.skipBin()
		s.conditions()
		s.skip(winverBytes + 1)
	}
	each("delete", c.deletes, deletes)
	each("uninstall delete", c.uninstallDeletes, deletes)
	run := func(uninstall bool) func(int) {
		return func(int) {
			e := RunEntry{Filename: s.str(), Parameters: s.str(), WorkingDir: s.str(), Uninstall: uninstall}
			s.skipBin() // run once id
			s.skipBin() // status message
			e.Verb = s.str()
			e.Description = s.str()
			s.conditions()
			s.skip(winverBytes + 4 + 1) // show command, wait
			var fl flagSet
			for _, name := range []string{"ShellExec", "SkipIfDoesntExist", "PostInstall", "Unchecked",
				"SkipIfSilent", "SkipIfNotSilent", "HideWizard", "Bits32", "Bits64", "RunAsOriginalUser"} {
				fl.add(name, true)
			}
			fl.add("DontLogParameters", v >= ver(6, 1, 0, 0))
			fl.add("LogOutput", v >= ver(6, 3, 0, 0))
			bits := s.flags(fl.n)
			e.ShellExec = fl.has(bits, "ShellExec")
			e.PostInstall = fl.has(bits, "PostInstall")
			if s.err == nil {
				r.Runs = append(r.Runs, e)
			}
		}
	}
	each("run", c.runs, run(false))
	each("uninstall run", c.uninstallRuns, run(true))
	s.what = "wizard images"
	for k := 0; k < 2; k++ { // wizard images, small wizard images
		n := 1
		if v >= ver(5, 6, 0, 0) {
			n = s.count("wizard images")
		}
		for i := 0; i < n && s.err == nil; i++ {
			s.skipBin()
		}
	}
	if r.Header.Compression == "bzip2" || r.Header.Compression == "zlib" {
		s.skipBin() // decompressor DLL
	}
	if r.Header.EncryptionUsed && v < ver(6, 4, 0, 0) {
		s.skipBin() // decryption DLL
	}
}

// fileFlags numbers the file entry flags of versions 5.2.5 and later.
var fileFlags = func() flagSet {
	var ff flagSet
	for _, name := range []string{"ConfirmOverwrite", "NeverUninstall", "RestartReplace", "DeleteAfterInstall",
		"RegisterServer", "RegisterTypeLib", "SharedFile", "CompareTimeStamp", "FontIsNotTrueType",
		"SkipIfSourceDoesntExist", "OverwriteReadOnly", "OverwriteSameVersion", "CustomDestName",
		"OnlyIfDestFileExists", "NoRegError", "UninsRestartDelete", "OnlyIfDoesntExist", "IgnoreVersion",
		"PromptIfOlder", "DontCopy", "UninsRemoveReadOnly", "RecurseSubDirsExternal",
		"ReplaceSameVersionIfContentsDiffer", "DontVerifyChecksum", "UninsNoSharedFilePrompt",
		"CreateAllSubDirs", "Bits32", "Bits64", "ExternalSizePreset", "SetNtfsCompression",
		"UnsetNtfsCompression", "GacInstall"} {
		ff.add(name, true)
	}
	return ff
}()

// dataEntry is a file location: where one file's bytes are (innoextract src/setup/data.cpp).
type dataEntry struct {
	firstSlice, lastSlice uint32
	chunkOffset           uint64 // of the chunk, from setup-1's start
	offset, size          uint64 // in the decompressed chunk
	chunkSize             uint64 // compressed
	sum                   []byte // MD5 before 5.3.9, SHA-1, SHA-256 from 6.4
	filetime              int64
	fileVersion           uint64
	versionValid          bool
	encrypted             bool
	compressed            bool
	callFilter            bool
	flipFilter            bool // the 5.3.9 variant of the CALL filter
}

// readDataEntries reads the second header block.
func (r *Reader) readDataEntries(s *stream) {
	v := r.Version.V
	var fl flagSet
	if v >= ver(6, 4, 3, 0) {
		// 6.4.3 dropped the flags it no longer used and the sign mode (issrc
		// Shared.Struct.pas, is-6_4_3: TSetupFileLocationEntry.Flags).
		for _, name := range []string{"VersionInfoValid", "TimeStampInUTC", "CallInstructionOptimized",
			"ChunkEncrypted", "ChunkCompressed"} {
			fl.add(name, true)
		}
	} else {
		for _, name := range []string{"VersionInfoValid", "VersionInfoNotValid", "TimeStampInUTC", "IsUninstallerExe",
			"CallInstructionOptimized", "Touch", "ChunkEncrypted", "ChunkCompressed", "SolidBreak"} {
			fl.add(name, true)
		}
		fl.add("Sign", v >= ver(5, 5, 7, 0) && v < ver(6, 3, 0, 0))
		fl.add("SignOnce", v >= ver(5, 5, 7, 0) && v < ver(6, 3, 0, 0))
	}
	sumLen := 20 // SHA-1
	switch {
	case v >= ver(6, 4, 0, 0):
		sumLen = 32 // SHA-256
	case v < ver(5, 3, 9, 0):
		sumLen = 16 // MD5
	}
	for i := 0; i < r.Header.counts.data && s.err == nil; i++ {
		s.what = fmt.Sprintf("data entry %d", i)
		var d dataEntry
		d.firstSlice, d.lastSlice = s.u32(), s.u32()
		d.chunkOffset = uint64(s.u32())
		d.offset, d.size, d.chunkSize = s.u64(), s.u64(), s.u64()
		d.sum = bytes.Clone(s.read(sumLen))
		d.filetime = int64(s.u64())
		ms, ls := s.u32(), s.u32()
		d.fileVersion = uint64(ms)<<32 | uint64(ls)
		bits := s.flags(fl.n)
		if v >= ver(6, 3, 0, 0) && v < ver(6, 4, 3, 0) {
			s.skip(1) // sign mode
		}
		d.versionValid = fl.has(bits, "VersionInfoValid")
		d.encrypted = fl.has(bits, "ChunkEncrypted")
		d.compressed = fl.has(bits, "ChunkCompressed")
		d.callFilter = fl.has(bits, "CallInstructionOptimized")
		d.flipFilter = v >= ver(5, 3, 9, 0)
		if s.err == nil && (d.size > unpack.MaxExpandedBytes || d.offset > unpack.MaxExpandedBytes) {
			s.err = errs.Limit(s.what, s.off, "file of %d bytes at %d in its chunk (limit %d)", d.size, d.offset, int64(unpack.MaxExpandedBytes))
		}
		r.data = append(r.data, d)
	}
}

// RegistryEntry is a [Registry] entry.
type RegistryEntry struct {
	Hive        string // HKCR, HKCU, HKLM, HKU, HKPD, HKCC, HKDD, HKA (per-user or per-machine)
	Key, Name   string
	Type        string // none, string, expandsz, dword, binary, multisz, qword
	Value       string
	DeleteKey   bool
	DeleteValue bool
}

// RunEntry is a [Run] or [UninstallRun] entry.
type RunEntry struct {
	Filename, Parameters, WorkingDir, Verb, Description string
	ShellExec, PostInstall                              bool
	Uninstall                                           bool
}

// Icon is an [Icons] entry: a shortcut.
type Icon struct {
	Name       string // "{userstartup}\App" is the shortcut App in the user's Startup folder
	Filename   string // its target
	Parameters string
	WorkingDir string
}

// INIEntry is an [INI] entry.
type INIEntry struct {
	File, Section, Key, Value string
}

// hiveName names a stored root key: the HKEY_* handle values 0x80000000 + n, or Inno 6's
// HKA (HKEY_AUTO, stored as 1: HKLM in administrative install mode, HKCU otherwise).
func hiveName(h uint32) string {
	if h == 1 {
		return "HKA"
	}
	names := []string{"HKCR", "HKCU", "HKLM", "HKU", "HKPD", "HKCC", "HKDD"}
	if n := h &^ 0x80000000; int(n) < len(names) {
		return names[n]
	}
	return fmt.Sprintf("hive-0x%x", h)
}

func regTypeName(t uint8) string {
	names := []string{"none", "string", "expandsz", "dword", "binary", "multisz", "qword"}
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("type-%d", t)
}

// regValue renders a registry value as the compiler stored it: text for the string and
// number types (Inno keeps ValueData as written, constants unexpanded, and converts numbers
// at install time), hex for binary.
func regValue(s *stream, typ uint8, raw []byte) string {
	if typ == 4 {
		return fmt.Sprintf("%x", raw)
	}
	return s.decode(raw)
}
