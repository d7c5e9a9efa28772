package msi

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sort"
	"strings"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cab"
	"github.com/rollgate/rollgate/unpack/cfb"
	"github.com/rollgate/rollgate/unpack/fstree"
)

// standardFolders are the Directory ids Windows Installer resolves itself; each becomes the
// first element of an install path, named by its id.
var standardFolders = map[string]bool{
	"AdminToolsFolder": true, "AppDataFolder": true, "CommonAppDataFolder": true,
	"CommonFiles64Folder": true, "CommonFilesFolder": true, "DesktopFolder": true,
	"FavoritesFolder": true, "FontsFolder": true, "LocalAppDataFolder": true,
	"MyPicturesFolder": true, "NetHoodFolder": true, "PersonalFolder": true,
	"PrintHoodFolder": true, "ProgramFiles64Folder": true, "ProgramFilesFolder": true,
	"ProgramMenuFolder": true, "RecentFolder": true, "SendToFolder": true,
	"StartMenuFolder": true, "StartupFolder": true, "System16Folder": true,
	"System64Folder": true, "SystemFolder": true, "TempFolder": true, "TemplateFolder": true,
	"WindowsFolder": true, "WindowsVolume": true,
	// Not a Windows Installer property, but authoring tools name the all-users Startup folder
	// so; kept as a root so that rules see a shortcut placed there for what it is.
	"CommonStartupFolder": true,
}

const rootDir = "TARGETDIR"

// Media table Cabinet prefix for a cabinet stored as a stream of the MSI.
const embeddedPrefix = "#"

// File attributes (msidbFileAttributes*).
const (
	attrNoncompressed = 0x2000
	attrCompressed    = 0x4000
)

// Summary word count flags.
const (
	wcShortNames = 1
	wcCompressed = 2
)

// Limits.
const (
	// MaxFiles bounds the File table rows exposed.
	MaxFiles = unpack.MaxEntries
	// MaxPathBytes bounds one install or source path (the Windows long-path limit).
	MaxPathBytes = 32767
	// MaxPathTotal bounds the bytes of all resolved directory and file paths together, so a
	// deep Directory chain cannot make the path strings quadratic.
	MaxPathTotal = 64 << 20
)

// pathBudget counts resolved path bytes against MaxPathBytes and MaxPathTotal.
type pathBudget struct{ total int }

func (b *pathBudget) spend(table, key string, paths ...string) error {
	for _, p := range paths {
		if len(p) > MaxPathBytes {
			return &unpack.FormatError{Format: "msi", Entry: table, Offset: -1, Err: unpack.ErrLimit,
				Msg: fmt.Sprintf("path of %q is %d bytes, over the limit of %d", key, len(p), MaxPathBytes)}
		}
		b.total += len(p)
	}
	if b.total > MaxPathTotal {
		return &unpack.FormatError{Format: "msi", Entry: table, Offset: -1, Err: unpack.ErrLimit,
			Msg: fmt.Sprintf("resolved paths exceed %d bytes", MaxPathTotal)}
	}
	return nil
}

type fileSrc struct {
	File
	cab     *cabinet
	cf      *cab.File
	srcPath string // path in the source layout beside the MSI, for uncompressed files
	size    int64  // bytes the content yields
}

type cabinet struct {
	name string // Media table Cabinet value
	r    *cab.Reader
	err  error
	// byName maps the sanitised name the cab Walk reports to the stored name, which is the
	// File table key in a well-formed package; byKey maps the stored name to the entry.
	byName map[string]string
	byKey  map[string]*cab.File
	// count is how many entries carry each stored name; hidden maps the walk name of every
	// entry no File row installs from this cabinet to its inventory node.
	count  map[string]int
	hidden map[string]*fileSrc
}

type binStream struct {
	key, path string
	size      int64
	e         *cfb.Entry
}

type layout struct {
	dirs     map[string]string // Directory id → install path ("" for TARGETDIR)
	srcDirs  map[string]string // Directory id → source layout path
	keyPath  map[string]string // Component → KeyPath
	files    []*fileSrc
	hidden   []*fileSrc // cabinet entries no File row installs, under cabinetRoot
	byKey    map[string]*fileSrc
	cabs     []*cabinet
	binaries []*binStream
	orphans  []*binStream // streams nothing references, under OrphanRoot
	// text counts the bytes the table readers returned (MaxTablesText); matchSteps the
	// file-name comparisons of MoveFile wildcards (MaxMatchSteps).
	text, matchSteps int
	tree             *fstree.Tree
	budget           pathBudget
}

// longName picks the long half of a "short|long" name.
func longName(s string) string {
	if i := strings.IndexByte(s, '|'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func shortName(s string) string {
	if i := strings.IndexByte(s, '|'); i >= 0 {
		return s[:i]
	}
	return s
}

// sanitize makes one path element safe: separators and control characters become '_', and
// the names that would mean this or the parent folder are replaced. Trailing dots and spaces
// are dropped as Win32 path normalisation drops them, so "version.dll." is inventoried where
// Windows puts it: version.dll.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == ':' {
			return '_'
		}
		return r
	}, s)
	if t := strings.TrimRight(s, ". "); t != "" {
		s = t
	} else if s != "." && s != ".." {
		s = "" // only dots and spaces: Win32 makes nothing of it
	}
	switch s {
	case "", ".", "..":
		return "_" + s
	}
	return s
}

// checkElem refuses a file or folder name that Windows would not store as one plain path
// element: a separator would create folders the inventory does not show, ':' names an NTFS
// stream ("ffmpeg.dll::$DATA" is ffmpeg.dll itself), NUL ends the name Windows sees
// ("version.dll\x00x" is version.dll), and ".." (or any name that is only dots and spaces,
// which Win32 normalises to nothing) would climb out of the folder.
func checkElem(table, key, name string) error {
	bad := strings.ContainsAny(name, "/\\:\x00") || strings.TrimRight(name, ". ") == "" && name != "." && name != ""
	if !bad {
		return nil
	}
	return &unpack.FormatError{Format: "msi", Entry: table, Offset: -1, Err: unpack.ErrInsecurePath,
		Msg: fmt.Sprintf("%q: name %q is not a single path element", key, name)}
}

// foldPath is how Windows compares install paths: case-insensitively (sanitize has already
// dropped trailing dots and spaces).
func foldPath(p string) string { return strings.ToUpper(p) }

// binaryRoot is the first path element of Binary table streams in the fs.FS; cabinetRoot
// that of cabinet entries no File row installs ("Cabinet/<Media Cabinet>/<name>"): bytes the
// package ships that a custom action could still unpack, so they are inventoried too.
const (
	binaryRoot  = "Binary"
	cabinetRoot = "Cabinet"
)

// checkCollisions refuses two File rows that Windows would install to one path (also when
// they differ only in case), and install paths inside the Binary stream namespace. Which of
// two colliding rows Windows keeps depends on sequence, versioning rules and component
// conditions that a static reader cannot evaluate; inventorying one under a made-up name
// would let the other hide behind the baseline's file.
func checkCollisions(files []*fileSrc) error {
	seen := make(map[string]string, len(files))
	for _, f := range files {
		k := foldPath(f.InstallPath)
		if first, _, _ := strings.Cut(k, "/"); reservedRoot(first) {
			return &unpack.FormatError{Format: "msi", Entry: "File", Offset: -1, Err: unpack.ErrUnsupported,
				Msg: fmt.Sprintf("file %q installs to %q, inside the namespace of Binary streams, cabinet entries and orphan streams", f.Key, f.InstallPath)}
		}
		if other, dup := seen[k]; dup {
			return &unpack.FormatError{Format: "msi", Entry: "File", Offset: -1, Err: unpack.ErrUnsupported,
				Msg: fmt.Sprintf("files %q and %q both install to %q; which one Windows keeps is undecidable here", other, f.Key, f.InstallPath)}
		}
		seen[k] = f.Key
	}
	return nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// dirRow is one Directory table row.
type dirRow struct{ id, parent, defaultDir string }

// resolveDirs resolves every Directory row to an install path and a source layout path.
func (p *Package) resolveDirs(l *layout) error {
	l.dirs = map[string]string{}
	l.srcDirs = map[string]string{}
	if !p.hasTable("Directory") {
		return nil
	}
	t, err := p.Table("Directory")
	if err != nil {
		return err
	}
	rows := make([]dirRow, len(t.Rows))
	for i := range t.Rows {
		rows[i] = dirRow{t.Str(i, "Directory"), t.Str(i, "Directory_Parent"), t.Str(i, "DefaultDir")}
	}
	l.dirs, l.srcDirs, err = resolveDirectories(rows, p.Summary.WordCount&wcShortNames != 0, &l.budget, p.standalone)
	return err
}

// resolveDirectories resolves Directory rows to install paths (target long names, standard
// folders by id, TARGETDIR as the root) and source layout paths (source names, long or short
// as the summary says). A parent chain that loops or names a missing row is a FormatError,
// unless orphansAreRoots (a patch read without its target): a missing parent is then a root
// named by its id, as the target's folders are unknown.
func resolveDirectories(list []dirRow, shortSource bool, budget *pathBudget, orphansAreRoots bool) (dirs, srcDirs map[string]string, err error) {
	dirs, srcDirs = map[string]string{}, map[string]string{}
	type row struct{ parent, def string }
	rows := map[string]row{}
	for _, r := range list {
		if _, dup := rows[r.id]; !dup {
			rows[r.id] = row{r.parent, r.defaultDir}
		}
	}
	dirErr := func(format string, args ...any) error {
		return &unpack.FormatError{Format: "msi", Entry: "Directory", Offset: -1, Msg: fmt.Sprintf(format, args...)}
	}
	resolve := func(start string) error {
		// Collect the chain up to a resolved, root or standard folder; then resolve downwards.
		var chain []string
		seen := map[string]bool{}
		for id := start; ; {
			if _, ok := dirs[id]; ok {
				break
			}
			if seen[id] {
				return dirErr("parent chain of %q loops at %q", start, id)
			}
			seen[id] = true
			r, ok := rows[id]
			if !ok && orphansAreRoots && id != start {
				dirs[id], srcDirs[id] = sanitize(id), ""
				break
			}
			if !ok {
				return dirErr("%q names missing parent %q", start, id)
			}
			chain = append(chain, id)
			if id == rootDir || standardFolders[id] || r.parent == "" || r.parent == id {
				break
			}
			id = r.parent
		}
		for i := len(chain) - 1; i >= 0; i-- {
			id := chain[i]
			r := rows[id]
			target, source := r.def, r.def
			if j := strings.IndexByte(r.def, ':'); j >= 0 {
				target, source = r.def[:j], r.def[j+1:]
			}
			sname := longName(source)
			if shortSource {
				sname = shortName(source)
			}
			switch {
			case id == rootDir:
				dirs[id], srcDirs[id] = "", ""
			case r.parent == "" || r.parent == id:
				// Another root: its location is a property; name it by its id.
				dirs[id], srcDirs[id] = sanitize(id), ""
			case standardFolders[id]:
				dirs[id] = id
				srcDirs[id] = cleanDots(joinPath(srcDirs[r.parent], dirElem(sname)))
			default:
				if err := checkElem("Directory", id, longName(target)); err != nil {
					return err
				}
				dirs[id] = cleanDots(joinPath(dirs[r.parent], dirElem(longName(target))))
				srcDirs[id] = cleanDots(joinPath(srcDirs[r.parent], dirElem(sname)))
			}
			if err := budget.spend("Directory", id, dirs[id], srcDirs[id]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range list {
		if err := resolve(r.id); err != nil {
			return nil, nil, err
		}
	}
	return dirs, srcDirs, nil
}

// dirElem is a directory name as a path element; "." (same folder) is kept as a marker
// that cleanDots removes.
func dirElem(name string) string {
	if name == "." {
		return "\x00"
	}
	return sanitize(name)
}

func cleanDots(p string) string {
	if !strings.Contains(p, "\x00") {
		return p
	}
	var out []string
	for _, e := range strings.Split(p, "/") {
		if e != "\x00" {
			out = append(out, e)
		}
	}
	return strings.Join(out, "/")
}

// buildLayout joins File, Component, Directory and Media, opens the cabinets' indexes and
// builds the fs.FS tree.
func (p *Package) buildLayout() error {
	l := &layout{keyPath: map[string]string{}, byKey: map[string]*fileSrc{}}
	p.layout = l
	p.unplacedFiles = nil
	if err := p.resolveDirs(l); err != nil {
		return err
	}
	compDir := map[string]string{}
	if p.hasTable("Component") {
		t, err := p.Table("Component")
		if err != nil {
			return err
		}
		for i := range t.Rows {
			c := t.Str(i, "Component")
			compDir[c] = t.Str(i, "Directory_")
			l.keyPath[c] = t.Str(i, "KeyPath")
		}
	}
	if p.hasTable("File") {
		t, err := p.Table("File")
		if err != nil {
			return err
		}
		if len(t.Rows) > MaxFiles {
			return p.limitErr("File", "%d files exceed the limit of %d", len(t.Rows), MaxFiles)
		}
		short := p.Summary.WordCount&wcShortNames != 0
		for i := range t.Rows {
			key := t.Str(i, "File")
			if _, dup := l.byKey[key]; dup || key == "" {
				return p.formatErr("File", -1, "row %d: duplicate or empty key %q", i, key)
			}
			comp := t.Str(i, "Component_")
			dirID, ok := compDir[comp]
			if !ok && p.standalone {
				p.unplacedFiles = append(p.unplacedFiles, fmt.Sprintf("File/%s: installed by the target's component %q, whose folder only the target defines", key, comp))
				continue
			}
			if !ok {
				return p.formatErr("File", -1, "file %q: component %q not in the Component table", key, comp)
			}
			dir, ok := l.dirs[dirID]
			if !ok && p.standalone {
				dir, ok = sanitize(dirID), true // a folder of the target: named by its id
			}
			if !ok {
				return p.formatErr("Component", -1, "component %q: directory %q not in the Directory table", comp, dirID)
			}
			fname := t.Str(i, "FileName")
			size, _ := t.Int(i, "FileSize")
			attrs, _ := t.Int(i, "Attributes")
			seq, _ := t.Int(i, "Sequence")
			if err := checkElem("File", key, longName(fname)); err != nil {
				return err
			}
			src := shortName(fname)
			if !short {
				src = longName(fname)
			}
			f := &fileSrc{File: File{
				Key:         key,
				InstallPath: joinPath(dir, sanitize(longName(fname))),
				Size:        int64(size),
				Version:     t.Str(i, "Version"),
				Language:    t.Str(i, "Language"),
				Attributes:  attrs,
				Component:   comp,
				Sequence:    seq,
			}, srcPath: joinPath(l.srcDirs[dirID], sanitize(src)), size: int64(size)}
			if f.size < 0 {
				f.size = 0
			}
			if err := l.budget.spend("File", key, f.InstallPath, f.srcPath); err != nil {
				return err
			}
			l.files = append(l.files, f)
			l.byKey[key] = f
		}
	}
	if err := checkCollisions(l.files); err != nil {
		return err
	}
	if err := p.openCabinets(l); err != nil {
		return err
	}
	if err := p.findBinaries(l); err != nil {
		return err
	}
	if err := p.findOrphans(l); err != nil {
		return err
	}
	return p.buildTree(l)
}

// openCabinets reads the Media table, opens each cabinet's index and assigns every file to
// the cabinet that holds its key.
func (p *Package) openCabinets(l *layout) error {
	if !p.hasTable("Media") {
		return nil
	}
	t, err := p.Table("Media")
	if err != nil {
		return err
	}
	type media struct {
		last int32
		cab  *cabinet
	}
	var ms []media
	byName := map[string]*cabinet{}
	for i := range t.Rows {
		last, _ := t.Int(i, "LastSequence")
		name := t.Str(i, "Cabinet")
		var c *cabinet
		if name != "" {
			if c = byName[name]; c == nil {
				c = p.openCabinet(name)
				byName[name] = c
				l.cabs = append(l.cabs, c)
			}
		}
		ms = append(ms, media{last, c})
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].last < ms[j].last })
	for _, f := range l.files {
		if !p.compressed(f.Attributes) {
			// Windows reads it from the source layout, whatever a cabinet holds under
			// its key; inventorying the cabinet's copy would judge bytes not installed.
			continue
		}
		var home *cabinet
		for _, m := range ms {
			if f.Sequence <= m.last {
				home = m.cab
				break
			}
		}
		if home != nil {
			if home.r == nil {
				f.cab = home // the cabinet's error is the file's
				continue
			}
			if cf := home.lookup(f.Key); cf != nil {
				f.cab, f.cf, f.size = home, cf, cf.Size
				continue
			}
		}
		// Not where the Media table says: try every cabinet before the source layout.
		for _, c := range l.cabs {
			if cf := c.lookup(f.Key); cf != nil {
				f.cab, f.cf, f.size = c, cf, cf.Size
				break
			}
		}
	}
	claimed := map[*cab.File]bool{}
	for _, f := range l.files {
		if f.cf == nil {
			continue
		}
		if f.cab.count[f.Key] > 1 {
			// Windows extracts every copy over the last; this reader would judge the first.
			return &unpack.FormatError{Format: "msi", Entry: f.cab.name, Offset: -1, Err: unpack.ErrUnsupported,
				Msg: fmt.Sprintf("the cabinet holds %d entries named %q; which one Windows installs is undecidable here", f.cab.count[f.Key], f.Key)}
		}
		claimed[f.cf] = true
	}
	for _, c := range l.cabs {
		if c.r == nil {
			continue
		}
		for _, cf := range c.r.Files() {
			if claimed[cf] {
				continue
			}
			h := &fileSrc{File: File{InstallPath: cabinetRoot + "/" + sanitize(c.name) + "/" + cf.Name, Size: cf.Size},
				cab: c, cf: cf, size: cf.Size}
			if err := l.budget.spend("Media", c.name, h.InstallPath); err != nil {
				return err
			}
			c.hidden[cf.Name] = h
			l.hidden = append(l.hidden, h)
		}
	}
	return nil
}

func (c *cabinet) lookup(key string) *cab.File { return c.byKey[key] }

// compressed reports whether Windows Installer takes a file from a cabinet: the File row's
// Compressed / Noncompressed attribute decides, else the summary's word count.
func (p *Package) compressed(attrs int32) bool {
	switch {
	case attrs&attrNoncompressed != 0:
		return false
	case attrs&attrCompressed != 0:
		return true
	}
	return p.Summary.WordCount&wcCompressed != 0
}

// openCabinet opens an embedded ("#name") or external cabinet's index. Failures are kept
// in the cabinet and reported by Walk and by opening its files.
func (p *Package) openCabinet(name string) *cabinet {
	c := &cabinet{name: name, byName: map[string]string{}, byKey: map[string]*cab.File{},
		count: map[string]int{}, hidden: map[string]*fileSrc{}}
	var ra io.ReaderAt
	var size int64
	if strings.HasPrefix(name, embeddedPrefix) {
		sn := name[len(embeddedPrefix):]
		e, ok := p.streams[sn]
		if !ok {
			c.err = p.formatErr(name, -1, "embedded cabinet stream missing")
			return c
		}
		s, err := p.openEntry(e)
		if err != nil {
			c.err = nameErr(err, e, sn)
			return c
		}
		ra, size = s, s.Size()
	} else {
		if p.dir == nil {
			c.err = p.formatErr(name, -1, "external cabinet not available (no source folder)")
			return c
		}
		if !fs.ValidPath(name) {
			c.err = fmt.Errorf("msi: external cabinet %q: %w", name, unpack.ErrInsecurePath)
			return c
		}
		if err := regularFile(p.dir, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.err = &unpack.FormatError{Format: "msi", Entry: name, Offset: -1, Msg: "external cabinet: " + err.Error()}
			return c
		}
		f, err := p.dir.Open(name)
		if err != nil {
			c.err = &unpack.FormatError{Format: "msi", Entry: name, Offset: -1, Msg: "external cabinet missing: " + err.Error()}
			return c
		}
		st, err := f.Stat()
		r, ok := f.(io.ReaderAt)
		if err != nil || !ok {
			f.Close()
			c.err = fmt.Errorf("msi: external cabinet %q: folder gives no random access: %w", name, unpack.ErrUnsupported)
			return c
		}
		p.closers = append(p.closers, f)
		ra, size = r, st.Size()
	}
	cr, err := cab.NewReader(ra, size)
	if err != nil {
		c.err = fmt.Errorf("msi: cabinet %q: %w", name, err)
		return c
	}
	c.r = cr
	for _, cf := range cr.Files() {
		if _, dup := c.byName[cf.Name]; !dup {
			c.byName[cf.Name] = cf.RawName
		}
		if _, dup := c.byKey[cf.RawName]; !dup {
			c.byKey[cf.RawName] = cf
		}
		c.count[cf.RawName]++
	}
	return c
}

func (p *Package) findBinaries(l *layout) error {
	if !p.hasTable("Binary") {
		return nil
	}
	t, err := p.Table("Binary")
	if err != nil {
		return err
	}
	data := t.Index("Data")
	if data < 0 {
		return nil
	}
	for i := range t.Rows {
		key := t.Str(i, "Name")
		sn, _ := t.Rows[i][data].(string)
		e, ok := p.streams[sn]
		if !ok || key == "" {
			continue
		}
		l.binaries = append(l.binaries, &binStream{key: key, path: "Binary/" + sanitize(key), size: e.Size, e: e})
	}
	return nil
}

// expand replaces "[#File]" / "[!File]" with the file's install path and "[Dir]" with the
// directory's install path followed by '/' (expandN without a bound: the Shortcut table's
// targets are bounded by the table's own limits).
func (l *layout) expand(s string) string {
	out, _ := l.expandN(s, math.MaxInt)
	return out
}

// Walk implements unpack.Walker: each cabinet is decompressed once in storage order, its
// entries mapped to install paths; then uncompressed source files, then Binary streams, then
// orphan streams.
// Problems that leave files unread (a missing cabinet, a file in no cabinet and not in the
// source folder) do not stop the walk: they are returned together at its end.
func (p *Package) Walk(fn func(path string, size int64, r io.Reader) error) error {
	l := p.layout
	var problems []error
	done := map[*fileSrc]bool{}
	failed := map[*cabinet]bool{}
	for _, c := range l.cabs {
		if c.r == nil {
			problems = append(problems, c.err)
			failed[c] = true
			continue
		}
		var stop error
		err := c.r.Walk(func(name string, size int64, rd io.Reader) error {
			f := c.hidden[name]
			if f == nil {
				f = l.byKey[c.byName[name]]
			}
			if f == nil || f.cab != c || done[f] {
				return nil // claimed by a File row in another cabinet: inventoried as hidden there
			}
			done[f] = true
			if err := fn(f.InstallPath, size, rd); err != nil {
				stop = err
				return err
			}
			return nil
		})
		if stop != nil {
			return stop
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("msi: cabinet %q: %w", c.name, err))
			failed[c] = true
		}
	}
	for _, f := range l.hidden {
		if !done[f] && !failed[f.cab] {
			problems = append(problems, p.formatErr(f.cab.name, -1, "cabinet walk never reached %q", f.cf.Name))
		}
	}
	for _, f := range l.files {
		if done[f] {
			continue
		}
		if f.cab != nil && f.cf != nil {
			if !failed[f.cab] {
				problems = append(problems, p.formatErr(f.cab.name, -1, "cabinet walk never reached %q", f.Key))
			}
			// else: in a cabinet whose walk failed before reaching it: already reported.
			continue
		}
		if f.cab != nil {
			continue // the cabinet failed to open: reported above
		}
		rc, size, err := p.openSource(f)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		err = fn(f.InstallPath, size, io.LimitReader(rc, size))
		rc.Close()
		if err != nil {
			return err
		}
	}
	for _, b := range append(append([]*binStream(nil), l.binaries...), l.orphans...) {
		s, err := p.openEntry(b.e)
		if err != nil {
			problems = append(problems, nameErr(err, b.e, b.path))
			continue
		}
		if err := fn(b.path, b.size, s); err != nil {
			return err
		}
	}
	return errors.Join(problems...)
}

// regularFile checks, before opening, that name in dir is a regular file: opening a FIFO
// (which an extracted archive can hold) would block for ever, a device would never end.
func regularFile(dir fs.FS, name string) error {
	st, err := fs.Stat(dir, name)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (%v)", st.Mode().Type())
	}
	return nil
}

// openSource opens an uncompressed file from the source layout beside the MSI.
func (p *Package) openSource(f *fileSrc) (io.ReadCloser, int64, error) {
	if p.dir == nil {
		return nil, 0, p.formatErr(f.Key, -1, "%s", fmt.Sprintf("file %q is in no cabinet and no source folder was given", f.InstallPath))
	}
	if !fs.ValidPath(f.srcPath) {
		return nil, 0, fmt.Errorf("msi: source file %q: %w", f.srcPath, unpack.ErrInsecurePath)
	}
	if err := regularFile(p.dir, f.srcPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, p.formatErr(f.Key, -1, "%s", fmt.Sprintf("source file %q: %v", f.srcPath, err))
	}
	sf, err := p.dir.Open(f.srcPath)
	if err != nil {
		return nil, 0, p.formatErr(f.Key, -1, "%s", fmt.Sprintf("file %q is in no cabinet and not in the source folder as %q", f.InstallPath, f.srcPath))
	}
	st, err := sf.Stat()
	if err != nil || !st.Mode().IsRegular() {
		sf.Close()
		return nil, 0, p.formatErr(f.Key, -1, "%s", fmt.Sprintf("source file %q is not a regular file", f.srcPath))
	}
	return sf, st.Size(), nil
}
