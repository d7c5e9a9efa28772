package analyze

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf16"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/iscab"
	"github.com/rollgate/rollgate/unpack/ishield"
)

// InstallShield launchers (setup.exe) carry the files they extract to a temporary folder
// after their PE image (peOverlay finds them). A Basic MSI launcher carries an MSI it runs:
// its tables are judged as the launcher's own (runsPackages), and the product is the MSI's
// (so an MSI shipped bare and later wrapped keeps its baseline); an InstallScript launcher
// carries Disk1\ media whose product is setup.ini's ProductGUID. InstallShield's own
// cabinets (data1.hdr with data1.cab, data2.cab ...; or a data1.cab that is its own header)
// are read with package iscab: their files are listed under "<header dir>/<header base>.cab/"
// at unshield's listing paths ("Disk1/data1.cab/DefaultComponent/clam.exe"), after the
// launcher's own files. A cabinet that does not read (an unsupported version, a missing
// volume, malformed) stays a Skip naming why (see isCabinetSkip), so such an installer is
// inconclusive, never a pass on the files it does not show.
var IShield = Format{"ishield", openIShield}

// maxSetupINI bounds the setup.ini read for the product.
const maxSetupINI = 1 << 20

func openIShield(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	r, err := ishield.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	sets := cabinetSets(r)
	c := &container{format: "ishield", walker: &ishieldWalker{r, sets}, runsPackages: true, cabinets: map[string]string{}}
	c.close = func() error {
		for _, s := range sets {
			if s.r != nil {
				s.r.Close()
			}
		}
		return r.Close()
	}
	for _, s := range sets {
		for _, m := range s.members {
			c.cabinets[m] = s.skip
		}
	}
	ini := setupINI(r)
	if pkg := ini["startup"]["packagename"]; pkg != "" {
		c.productOf = pkg
	} else {
		for _, f := range r.Files {
			if strings.EqualFold(path.Ext(f.Path), ".msi") {
				if c.productOf != "" {
					c.productOf = "" // several: none names the product
					break
				}
				c.productOf = f.Path
			}
		}
	}
	c.describe = func(inv *inventory.Inventory, self *inventory.Entry) error {
		s := ini["startup"]
		if g := s["productguid"]; g != "" && c.productOf == "" {
			if !strings.HasPrefix(g, "{") {
				g = "{" + g + "}"
			}
			inv.Product = inventory.Product{Identity: "installshield:" + strings.ToLower(g), Name: s["appname"], Manufacturer: s["companyname"]}
		}
		return nil
	}
	return c, nil
}

// setupINI reads the launcher's setup.ini (UTF-16 with a byte-order mark, or ANSI) into
// lower-cased sections and keys; nil when there is none or it does not read.
func setupINI(r *ishield.Reader) map[string]map[string]string {
	var name string
	for _, f := range r.Files {
		if strings.EqualFold(path.Base(f.Path), "setup.ini") && f.Size <= maxSetupINI {
			name = f.Path
			break
		}
	}
	if name == "" {
		return nil
	}
	fh, err := r.Open(name)
	if err != nil {
		return nil
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSetupINI))
	if err != nil {
		return nil
	}
	if bytes.HasPrefix(b, []byte{0xff, 0xfe}) {
		u := make([]uint16, (len(b)-2)/2)
		for i := range u {
			u[i] = uint16(b[2+2*i]) | uint16(b[3+2*i])<<8
		}
		b = []byte(string(utf16.Decode(u)))
	}
	out := map[string]map[string]string{}
	var sec map[string]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "["):
			n, _, _ := strings.Cut(line[1:], "]")
			n = strings.ToLower(strings.TrimSpace(n))
			if out[n] == nil {
				out[n] = map[string]string{}
			}
			sec = out[n]
		case sec != nil:
			if k, v, ok := strings.Cut(line, "="); ok {
				k = strings.ToLower(strings.TrimSpace(k))
				if _, seen := sec[k]; !seen {
					sec[k] = strings.TrimSpace(v)
				}
			}
		}
	}
	return out
}

// isCabinetSkip says why a file is not inventoried when it is an InstallShield cabinet or
// cabinet header ("ISc(") that no cabinet set read (a launcher's readable sets name their
// members in container.cabinets, which overrides this): the files it installs are in it;
// empty otherwise.
func isCabinetSkip(head []byte) string {
	if bytes.HasPrefix(head, []byte(ishield.CabinetMagic)) {
		return "InstallShield cabinet not read: rollgate reads these only as a set (data<N>.hdr or a data1.cab header, with its volumes) carried by an InstallShield launcher, so the files it installs were not inventoried"
	}
	return ""
}

// cabSet is one InstallShield cabinet set a launcher carries.
type cabSet struct {
	hdr string // the header's path in the launcher
	// prefix is where its files are listed: "<header dir>/<header base>.cab".
	prefix string
	// members are the header and volumes (paths in the launcher) the set is made of.
	members []string
	r       *iscab.Reader // nil when the set does not read
	skip    string        // why, when it does not
}

// cabinetSets finds the cabinet sets of a launcher's payload: each data<N>.hdr, and each
// <prefix>1.cab with no <prefix>1.hdr beside it (a cabinet that is its own header), whose
// first bytes are "ISc(", opened with package iscab over the payload's fs.FS.
func cabinetSets(r *ishield.Reader) []*cabSet {
	isCab := func(p string) bool {
		fh, err := r.Open(p)
		if err != nil {
			return false
		}
		defer fh.Close()
		var b [4]byte
		_, err = io.ReadFull(fh, b[:])
		return err == nil && string(b[:]) == ishield.CabinetMagic
	}
	lower := map[string]bool{}
	for _, f := range r.Files {
		lower[strings.ToLower(f.Path)] = true
	}
	var sets []*cabSet
	for _, f := range r.Files {
		dir, base := path.Split(f.Path)
		ext := strings.ToLower(path.Ext(base))
		pre := iscab.VolumePrefix(base)
		switch {
		case ext == ".hdr":
		case ext == ".cab" && strings.EqualFold(base, pre+"1.cab") && !lower[strings.ToLower(dir+pre+"1.hdr")]:
		default:
			continue
		}
		if !isCab(f.Path) {
			continue
		}
		s := &cabSet{hdr: f.Path, prefix: strings.TrimSuffix(f.Path, path.Ext(f.Path)) + ".cab", members: []string{f.Path}}
		for _, g := range r.Files {
			gd, gb := path.Split(g.Path)
			if gd == dir && g.Path != f.Path && strings.EqualFold(path.Ext(gb), ".cab") && isVolumeOf(gb, pre) {
				s.members = append(s.members, g.Path)
			}
		}
		rd, err := iscab.Open(r, f.Path)
		if err != nil {
			s.skip = fmt.Sprintf("InstallShield cabinet set %s not read (%v), so the files it installs were not inventoried", f.Path, err)
		} else {
			s.r = rd
		}
		sets = append(sets, s)
	}
	return sets
}

// isVolumeOf reports whether name is <prefix><N>.cab, in any letter case.
func isVolumeOf(name, prefix string) bool {
	stem := strings.TrimSuffix(name, path.Ext(name))
	if len(stem) <= len(prefix) || !strings.EqualFold(stem[:len(prefix)], prefix) {
		return false
	}
	return strings.Trim(stem[len(prefix):], "0123456789") == ""
}

// ishieldWalker walks a launcher's own files, then the files of each cabinet set it reads,
// under the set's prefix.
type ishieldWalker struct {
	r    *ishield.Reader
	sets []*cabSet
}

func (w *ishieldWalker) Walk(fn func(path string, size int64, r io.Reader) error) error {
	if err := w.r.Walk(fn); err != nil {
		return err
	}
	for _, s := range w.sets {
		if s.r == nil {
			continue
		}
		if err := s.r.Walk(func(p string, size int64, rd io.Reader) error {
			return fn(s.prefix+"/"+p, size, rd)
		}); err != nil {
			return fmt.Errorf("in the InstallShield cabinet set %q: %w", s.hdr, err)
		}
	}
	return nil
}
