package analyze

import (
	"bufio"
	"bytes"
	"io"
	"path"
	"strings"
	"unicode/utf16"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack/ishield"
)

// InstallShield launchers (setup.exe) carry the files they extract to a temporary folder
// after their PE image (peOverlay finds them). A Basic MSI launcher carries an MSI it runs:
// its tables are judged as the launcher's own (runsPackages), and the product is the MSI's
// (so an MSI shipped bare and later wrapped keeps its baseline); an InstallScript launcher
// carries Disk1\ media whose product is setup.ini's ProductGUID. InstallShield's own
// cabinets (data1.cab) are not read: each is a Skip (see isCabinetSkip), so such an
// installer is inconclusive, never a pass on the files it does not show.
var IShield = Format{"ishield", openIShield}

// maxSetupINI bounds the setup.ini read for the product.
const maxSetupINI = 1 << 20

func openIShield(a *Analyzer, f io.ReaderAt, size int64, name string, dir string) (*container, error) {
	r, err := ishield.NewReader(f, size)
	if err != nil {
		return nil, err
	}
	c := &container{format: "ishield", walker: r, close: r.Close, runsPackages: true}
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
// cabinet header ("ISc("): the files it installs are in it, and rollgate does not read the
// format; empty otherwise.
func isCabinetSkip(head []byte) string {
	if bytes.HasPrefix(head, []byte(ishield.CabinetMagic)) {
		return "InstallShield cabinet: rollgate does not read this format, so the files it installs were not inventoried"
	}
	return ""
}
