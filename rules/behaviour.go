package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/winpath"
)

// Behaviour judges what the sandbox saw in the candidate run against the baseline run.
// base may be nil when the baseline was recorded without --sandbox: then only what needs no
// baseline run is judged (network destinations against the allow-list, DLLs the installer
// never shipped), and the caller should say so. allow lists destinations (host names,
// "*.suffix" patterns or addresses) the policy permits.
func Behaviour(base, cand *inventory.Behaviour, shipped *inventory.Inventory, allow []string) []Finding {
	c := &collector{}
	if cand == nil || !cand.Ran {
		return nil
	}
	seen := map[string]bool{}
	baseDest := map[string]bool{}
	if base != nil {
		for _, ev := range base.Network {
			baseDest[Destination(ev)] = true
		}
	}
	for _, ev := range cand.Network {
		d := Destination(ev)
		if seen[d] || baseDest[d] || allowed(ev, allow) {
			continue
		}
		seen[d] = true
		c.add(SandboxNetwork, "sandbox:network/"+d, describe(ev)+" that the baseline run never made",
			map[string]any{"proto": ev.Proto, "name": ev.Name, "addr": ev.Addr, "port": ev.Port, "sni": ev.SNI, "http": ev.HTTP, "host": ev.Host, "qtype": ev.QType})
	}

	landed := shippedPaths(shipped)
	baseLoads := map[string]bool{}
	if base != nil {
		for _, l := range base.DLLLoads {
			baseLoads[winpath.Normalize(l.Path)] = true
		}
	}
	seen = map[string]bool{}
	for _, l := range cand.DLLLoads {
		n := winpath.Normalize(l.Path)
		if seen[n] || inSystemFolder(n) {
			continue
		}
		seen[n] = true
		isShipped := landed.has(n)
		newPath := base != nil && !baseLoads[n]
		if isShipped && !newPath {
			continue
		}
		why := "the installer did not ship it"
		if isShipped {
			why = "the baseline run never loaded a DLL from there"
		}
		c.add(SandboxDLLLoad, "sandbox:dll/"+n, fmt.Sprintf("loaded %s: %s", l.Path, why),
			map[string]any{"path": l.Path, "process": l.Process, "type": l.Type, "shipped": isShipped})
	}
	if base == nil {
		Sort(c.out)
		return c.out
	}

	baseWrites := map[string]bool{}
	for _, w := range base.FileWrites {
		baseWrites[winpath.Normalize(w.Path)] = true
	}
	seen = map[string]bool{}
	for _, w := range cand.FileWrites {
		n := winpath.Normalize(w.Path)
		if seen[n] || baseWrites[n] || landed.inInstallDir(n) {
			continue
		}
		seen[n] = true
		c.add(SandboxFileWrite, "sandbox:file/"+n, fmt.Sprintf("wrote %s outside the install folder; the baseline run did not", w.Path),
			map[string]any{"path": w.Path, "kind": w.Kind})
	}
	baseProcs := map[string]bool{}
	for _, p := range base.Processes {
		baseProcs[winpath.Normalize(p.Image)] = true
	}
	seen = map[string]bool{}
	for _, p := range cand.Processes {
		n := winpath.Normalize(p.Image)
		if seen[n] || baseProcs[n] {
			continue
		}
		seen[n] = true
		c.add(SandboxProcess, "sandbox:process/"+n, fmt.Sprintf("started %s; the baseline run did not", p.Image),
			map[string]any{"image": p.Image, "command": p.Command})
	}
	Sort(c.out)
	return c.out
}

// Destination is the stable key of a network event: the name when one is known (DNS query,
// SNI, Host, or the name the sinkhole's DNS answer mapped the address to), else the address;
// with the port for connections and datagrams.
func Destination(ev inventory.NetEvent) string {
	host := strings.ToLower(strings.TrimSuffix(ev.Name, "."))
	if host == "" {
		host = strings.ToLower(ev.SNI)
	}
	if host == "" {
		host = strings.ToLower(ev.Host)
	}
	if host == "" {
		host = ev.Addr
	}
	if ev.Proto == "dns" {
		return "dns:" + host
	}
	return ev.Proto + ":" + host + ":" + strconv.Itoa(ev.Port)
}

func describe(ev inventory.NetEvent) string {
	if ev.Proto == "dns" {
		q := ev.QType
		if q == "" {
			q = "DNS"
		}
		return fmt.Sprintf("DNS %s query for %s", q, ev.Name)
	}
	dest := fmt.Sprintf("%s port %d", ev.Addr, ev.Port)
	if ev.Name != "" && ev.Name != ev.Addr {
		dest = fmt.Sprintf("%s (%s) port %d", ev.Name, ev.Addr, ev.Port)
	}
	s := fmt.Sprintf("%s %s to %s", strings.ToUpper(ev.Proto), map[bool]string{true: "connection", false: "datagram"}[ev.Proto == "tcp"], dest)
	switch {
	case ev.HTTP != "":
		s += ": " + ev.HTTP
	case ev.SNI != "":
		s += ": TLS for " + ev.SNI
	}
	return s
}

// allowed matches a network event against allow-list entries: exact names, "*.suffix"
// patterns, or addresses.
func allowed(ev inventory.NetEvent, allow []string) bool {
	names := []string{strings.ToLower(strings.TrimSuffix(ev.Name, ".")), strings.ToLower(ev.SNI), strings.ToLower(ev.Host), ev.Addr}
	for _, a := range allow {
		a = strings.ToLower(a)
		for _, n := range names {
			if n == "" {
				continue
			}
			if n == a || strings.HasPrefix(a, "*.") && strings.HasSuffix(n, a[1:]) {
				return true
			}
		}
	}
	return false
}

func inSystemFolder(n string) bool {
	for _, pre := range []string{`c:\windows\system32\`, `c:\windows\syswow64\`, `c:\windows\winsxs\`} {
		if strings.HasPrefix(n, pre) {
			return true
		}
	}
	// modules wine maps without a path
	return !strings.Contains(n, `\`)
}

// shippedSet holds the normalised Windows paths the installer's files land on, and their
// folders, for matching against what a run reports.
type shippedSet struct {
	files map[string]bool
	dirs  map[string]bool
}

func shippedPaths(inv *inventory.Inventory) shippedSet {
	s := shippedSet{files: map[string]bool{}, dirs: map[string]bool{}}
	if inv == nil {
		return s
	}
	for _, e := range inv.Entries {
		if e.Path == inventory.InstallerPath || strings.HasPrefix(e.Path, "Binary/") || !strings.Contains(e.Path, "/") {
			continue
		}
		for _, w := range winpath.Candidates(e.Path) {
			n := winpath.Normalize(w)
			s.files[n] = true
			if i := strings.LastIndexByte(n, '\\'); i > 0 {
				s.dirs[n[:i+1]] = true
			}
		}
	}
	return s
}

func (s shippedSet) has(n string) bool { return s.files[n] }

// inInstallDir reports whether n lies in (or below) a folder the installer put files in.
// Folders shared by everything (a bare known folder such as Program Files) do not count.
func (s shippedSet) inInstallDir(n string) bool {
	for d := range s.dirs {
		if strings.HasPrefix(n, d) {
			return true
		}
	}
	return false
}
