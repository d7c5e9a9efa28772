package sinkhole

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

func TestAddressMapping(t *testing.T) {
	for _, name := range []string{"c2.beacon.invalid", "C2.Beacon.Invalid.", "a.test", "", "."} {
		a := PreferredAddr4(name)
		if !AnswerPrefix4.Contains(a) || a.As4()[3] == 0 || a.As4()[3] == 255 {
			t.Errorf("PreferredAddr4(%q) = %v, want a host of %v", name, a, AnswerPrefix4)
		}
		if a6 := Addr6(name); !AnswerPrefix6.Contains(a6) {
			t.Errorf("Addr6(%q) = %v, want inside %v", name, a6, AnswerPrefix6)
		}
	}
	if a, b := PreferredAddr4("c2.beacon.invalid"), PreferredAddr4("C2.BEACON.INVALID."); a != b {
		t.Errorf("PreferredAddr4 is case or dot sensitive: %v != %v", a, b)
	}
	if a, b := Addr6("c2.beacon.invalid"), Addr6("C2.BEACON.INVALID."); a != b {
		t.Errorf("Addr6 is case or dot sensitive: %v != %v", a, b)
	}

	// Within a run, names get distinct addresses while there are free ones, keep them, and
	// are attributed.
	n := NewNames(false)
	first := n.Addr4("c2.beacon.invalid")
	if first != PreferredAddr4("c2.beacon.invalid") {
		t.Errorf("first name got %v, want its preferred %v", first, PreferredAddr4("c2.beacon.invalid"))
	}
	seen := map[netip.Addr]string{}
	for i := range slots4 {
		name := fmt.Sprintf("host%d.test", i)
		if i == 0 {
			name = "c2.beacon.invalid"
		}
		a := n.Addr4(name)
		if prev, dup := seen[a]; dup {
			t.Fatalf("Addr4(%q) = %v, already given to %q", name, a, prev)
		}
		seen[a] = name
		if got, ok := n.Name(a); !ok || got != name {
			t.Errorf("Name(%v) = %q, %v, want %q", a, got, ok, name)
		}
	}
	if again := n.Addr4("C2.beacon.invalid."); again != first {
		t.Errorf("Addr4 again = %v, want %v", again, first)
	}
	// All 254 taken: the next name shares its preferred address and wins attribution.
	over := n.Addr4("overflow.test")
	if over != PreferredAddr4("overflow.test") {
		t.Errorf("Addr4(overflow) = %v, want %v", over, PreferredAddr4("overflow.test"))
	}
	if got, _ := n.Name(over); got != "overflow.test" {
		t.Errorf("Name(%v) = %q, want overflow.test", over, got)
	}
	if _, ok := n.Name(netip.MustParseAddr("192.0.2.1")); ok {
		t.Errorf("Name(192.0.2.1) found, want none")
	}
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

func TestAnswer(t *testing.T) {
	const name = "c2.beacon.invalid."
	a4 := PreferredAddr4(name)
	notQuery := query(name, dns.TypeA)
	notQuery.Opcode = dns.OpcodeUpdate
	noQuestion := query(name, dns.TypeA)
	noQuestion.Question = nil
	chaos := query(name, dns.TypeA)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	edns := query(name, dns.TypeA)
	edns.SetEdns0(4096, false)

	tests := []struct {
		name  string
		ipv6  bool
		req   *dns.Msg
		rcode int
		want  []string // answers as their String() values
	}{
		{"A", false, query(name, dns.TypeA), dns.RcodeSuccess, []string{name + "\t60\tIN\tA\t" + a4.String()}},
		{"A mixed case keeps the asked case", false, query("C2.Beacon.Invalid.", dns.TypeA), dns.RcodeSuccess, []string{"C2.Beacon.Invalid.\t60\tIN\tA\t" + a4.String()}},
		{"AAAA without IPv6", false, query(name, dns.TypeAAAA), dns.RcodeSuccess, nil},
		{"AAAA", true, query(name, dns.TypeAAAA), dns.RcodeSuccess, []string{name + "\t60\tIN\tAAAA\t" + Addr6(name).String()}},
		{"ANY", true, query(name, dns.TypeANY), dns.RcodeSuccess, []string{name + "\t60\tIN\tA\t" + a4.String(), name + "\t60\tIN\tAAAA\t" + Addr6(name).String()}},
		{"MX is empty, not NXDOMAIN", false, query(name, dns.TypeMX), dns.RcodeSuccess, nil},
		{"TXT", false, query(name, dns.TypeTXT), dns.RcodeSuccess, nil},
		{"PTR of an answer", false, query("1.2.3.4.in-addr.arpa.", dns.TypePTR), dns.RcodeSuccess, nil},
		{"PTR of the answer", false, query(mustReverse(a4), dns.TypePTR), dns.RcodeSuccess, []string{mustReverse(a4) + "\t60\tIN\tPTR\t" + name}},
		{"EDNS", false, edns, dns.RcodeSuccess, []string{name + "\t60\tIN\tA\t" + a4.String()}},
		{"CHAOS class", false, chaos, dns.RcodeSuccess, nil},
		{"UPDATE", false, notQuery, dns.RcodeNotImplemented, nil},
		{"no question", false, noQuestion, dns.RcodeFormatError, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := NewNames(tt.ipv6)
			n.Addr4(name) // so PTR has something to find
			resp := n.Answer(tt.req)
			if resp == nil {
				t.Fatalf("Answer(%v) = nil", tt.req.Question)
			}
			if resp.Rcode != tt.rcode || resp.Id != tt.req.Id || !resp.Response {
				t.Errorf("Answer(%v) rcode %s id %d response %v, want %s id %d response",
					tt.req.Question, dns.RcodeToString[resp.Rcode], resp.Id, resp.Response, dns.RcodeToString[tt.rcode], tt.req.Id)
			}
			var got []string
			for _, rr := range resp.Answer {
				got = append(got, rr.String())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Answer(%v) = %q, want %q", tt.req.Question, got, tt.want)
			}
			if (tt.req.IsEdns0() != nil) != (resp.IsEdns0() != nil) {
				t.Errorf("Answer(%v) EDNS = %v, want %v", tt.req.Question, resp.IsEdns0() != nil, tt.req.IsEdns0() != nil)
			}
		})
	}

	resp := new(dns.Msg)
	resp.SetReply(query(name, dns.TypeA))
	if got := NewNames(false).Answer(resp); got != nil {
		t.Errorf("Answer(a response) = %v, want nil", got)
	}
}

func mustReverse(a netip.Addr) string {
	s, err := dns.ReverseAddr(a.String())
	if err != nil {
		panic(err)
	}
	return s
}

func TestReverseAddr(t *testing.T) {
	for _, s := range []string{"198.51.100.7", "2001:db8::1", "2001:db8:ffff:1:2:3:4:5"} {
		want := netip.MustParseAddr(s)
		got, ok := reverseAddr(mustReverse(want))
		if !ok || got != want {
			t.Errorf("reverseAddr(%q) = %v, %v, want %v", mustReverse(want), got, ok, want)
		}
	}
	for _, s := range []string{"7.100.51.in-addr.arpa.", "x.7.100.51.198.in-addr.arpa.", "300.1.1.1.in-addr.arpa.", "1.ip6.arpa.", "a.test."} {
		if got, ok := reverseAddr(s); ok {
			t.Errorf("reverseAddr(%q) = %v, true, want false", s, got)
		}
	}
}

func TestServeDNS(t *testing.T) {
	n := NewNames(false)
	wire := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	q := query("c2.beacon.invalid.", dns.TypeA)
	out, got := n.serveDNS(wire(q), true)
	resp := new(dns.Msg)
	if err := resp.Unpack(out); err != nil || got == nil || got.name != "c2.beacon.invalid" || got.qtype != "A" || len(resp.Answer) != 1 {
		t.Errorf("serveDNS(A) = %v, %+v (unpack %v), want one answer for c2.beacon.invalid A", resp, got, err)
	}

	odd := query("x.test.", 65534)
	if _, got := n.serveDNS(wire(odd), true); got == nil || got.qtype != "TYPE65534" {
		t.Errorf("serveDNS(TYPE65534) query = %+v, want qtype TYPE65534", got)
	}

	garbage := append(wire(q)[:12], 0xff, 0xff)
	out, got = n.serveDNS(garbage, true)
	if err := resp.Unpack(out); err != nil || resp.Rcode != dns.RcodeFormatError || resp.Id != q.Id || got != nil {
		t.Errorf("serveDNS(garbage) = rcode %d id %d (unpack %v), want FORMERR id %d", resp.Rcode, resp.Id, err, q.Id)
	}
	if out, _ := n.serveDNS([]byte{1, 2, 3}, true); out != nil {
		t.Errorf("serveDNS(3 bytes) = %q, want no reply", out)
	}
	r := wire(q)
	r[2] |= 0x80 // QR: a response
	if out, _ := n.serveDNS(r, true); out != nil {
		t.Errorf("serveDNS(response) = %q, want no reply", out)
	}
}

func TestQTypeString(t *testing.T) {
	for _, tt := range []struct {
		in   uint16
		want string
	}{{dns.TypeA, "A"}, {dns.TypeAAAA, "AAAA"}, {dns.TypeHTTPS, "HTTPS"}, {65534, "TYPE65534"}} {
		if got := QTypeString(tt.in); got != tt.want {
			t.Errorf("QTypeString(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
