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
		c.add(SandboxNetwork, "sandbox:network/"+d, describe(ev)+" that the baseline run never made"+offsetText(ev.ClockOffset),
			netEvidence(ev))
	}
	// SNI and Host are what the program claims; the name is what the sinkhole answered. A
	// claim that differs from the name is reported on its own (unless the baseline run made
	// the same claim to the same destination).
	baseClaims := map[string]bool{}
	if base != nil {
		for _, ev := range base.Network {
			for _, cl := range claimMismatches(ev) {
				baseClaims[Destination(ev)+" "+cl] = true
			}
		}
	}
	seen = map[string]bool{}
	for _, ev := range cand.Network {
		d := Destination(ev)
		for _, cl := range claimMismatches(ev) {
			if seen[d+" "+cl] || baseClaims[d+" "+cl] {
				continue
			}
			seen[d+" "+cl] = true
			c.add(SandboxNetwork, "sandbox:network-claim/"+d+"/"+cl,
				fmt.Sprintf("%s claims %s, but the sinkhole answered the address for %q%s", describe(ev), cl, ev.Name, offsetText(ev.ClockOffset)),
				netEvidence(ev))
		}
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
		if installerOwn(l) {
			continue
		}
		isShipped := landed.has(n)
		newPath := base != nil && !baseLoads[n]
		if isShipped && !newPath {
			continue
		}
		why := "the installer did not ship it"
		if isShipped {
			why = "the baseline run never loaded a DLL from there"
		}
		c.add(SandboxDLLLoad, "sandbox:dll/"+n, fmt.Sprintf("loaded %s: %s%s", l.Path, why, offsetText(l.ClockOffset)),
			map[string]any{"path": l.Path, "process": l.Process, "type": l.Type, "shipped": isShipped, "clock_offset": l.ClockOffset})
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
		c.add(SandboxFileWrite, "sandbox:file/"+n, fmt.Sprintf("wrote %s outside the install folder; the baseline run did not%s", w.Path, offsetText(w.ClockOffset)),
			map[string]any{"path": w.Path, "kind": w.Kind, "clock_offset": w.ClockOffset})
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
		c.add(SandboxProcess, "sandbox:process/"+n, fmt.Sprintf("started %s; the baseline run did not%s", p.Image, offsetText(p.ClockOffset)),
			map[string]any{"image": p.Image, "command": p.Command, "clock_offset": p.ClockOffset})
	}
	persistence(c, base, cand)
	Sort(c.out)
	return c.out
}

// Destination is the stable key of a network event, built only from what the guest cannot
// forge: the name when the sinkhole itself knows it (the DNS query, or the name whose DNS
// answer was the destination address), else the raw address; with the port for connections
// and datagrams. TLS SNI and the HTTP Host header are the program's claims: evidence (see
// claimMismatches), never identity.
func Destination(ev inventory.NetEvent) string {
	host := strings.ToLower(strings.TrimSuffix(ev.Name, "."))
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

// netEvidence is a network finding's evidence.
func netEvidence(ev inventory.NetEvent) map[string]any {
	return map[string]any{"proto": ev.Proto, "name": ev.Name, "addr": ev.Addr, "port": ev.Port, "sni": ev.SNI,
		"http": ev.HTTP, "host": ev.Host, "qtype": ev.QType, "clock_offset": ev.ClockOffset}
}

// claimMismatches lists the names a connection claimed (TLS SNI, HTTP Host) that differ from
// the name the sinkhole resolved its address for, as "SNI x" / "Host y". A connection to a raw
// address has no resolved name to differ from: its identity is the address.
func claimMismatches(ev inventory.NetEvent) []string {
	name := strings.ToLower(strings.TrimSuffix(ev.Name, "."))
	if ev.Proto != "tcp" || name == "" {
		return nil
	}
	var out []string
	if sni := strings.ToLower(strings.TrimSuffix(ev.SNI, ".")); sni != "" && sni != name {
		out = append(out, "TLS SNI "+sni)
	}
	if h := hostPart(ev.Host); h != "" && h != name {
		out = append(out, "HTTP Host "+h)
	}
	return out
}

// hostPart is the lower-cased name part of an HTTP Host value (port and brackets dropped).
func hostPart(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

// installerOwn reports whether a DLL load is the installer's own doing: the installer's image
// in the guest (Z:\rollgate\installer.exe), or a module loaded by the installer's process
// from the temporary folders it unpacks into. A bare .exe installer carries its payload
// inside itself, where the inventory cannot list it, so "the installer did not ship it" would
// be wrong for each of these.
func installerOwn(l inventory.DLLLoad) bool {
	n, proc := winpath.Normalize(l.Path), winpath.Normalize(l.Process)
	if strings.HasPrefix(n, `z:\rollgate\`) {
		return true
	}
	byInstaller := strings.HasPrefix(proc, `z:\rollgate\`) || inTemp(proc)
	return byInstaller && inTemp(n)
}

// inTemp reports whether a normalised path lies in a user's or Windows' temporary folder.
func inTemp(n string) bool {
	return strings.HasPrefix(n, `c:\windows\temp\`) ||
		strings.HasPrefix(n, `c:\users\<user>\`) && strings.Contains(n, `\appdata\local\temp\`) ||
		strings.HasPrefix(n, `c:\users\<user>\temp\`)
}

// allowed matches a network event's identity (Destination's name or address, never SNI or
// Host) against allow-list entries: exact names, "*.suffix" patterns, or addresses.
func allowed(ev inventory.NetEvent, allow []string) bool {
	names := []string{strings.ToLower(strings.TrimSuffix(ev.Name, ".")), ev.Addr}
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
