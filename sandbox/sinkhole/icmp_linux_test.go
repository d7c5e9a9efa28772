package sinkhole

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// echo4 builds an IPv4 echo request with gVisor's header package, an independent encoder.
func echo4(src, dst netip.Addr, payload []byte, frag uint16) []byte {
	b := make([]byte, header.IPv4MinimumSize+header.ICMPv4MinimumSize+len(payload))
	ip := header.IPv4(b)
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(b)), TTL: 9, Protocol: uint8(header.ICMPv4ProtocolNumber),
		SrcAddr: tcpip.AddrFrom4(src.As4()), DstAddr: tcpip.AddrFrom4(dst.As4()), FragmentOffset: frag,
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	ic := header.ICMPv4(b[header.IPv4MinimumSize:])
	ic.SetType(header.ICMPv4Echo)
	ic.SetIdent(0x1234)
	ic.SetSequence(7)
	copy(ic.Payload(), payload)
	ic.SetChecksum(^checksum.Checksum(ic, 0))
	return b
}

func echo6(src, dst netip.Addr, payload []byte) []byte {
	b := make([]byte, header.IPv6MinimumSize+header.ICMPv6EchoMinimumSize+len(payload))
	ip := header.IPv6(b)
	s, d := tcpip.AddrFrom16(src.As16()), tcpip.AddrFrom16(dst.As16())
	ip.Encode(&header.IPv6Fields{
		PayloadLength: uint16(len(b) - header.IPv6MinimumSize), TransportProtocol: header.ICMPv6ProtocolNumber,
		HopLimit: 9, SrcAddr: s, DstAddr: d,
	})
	ic := header.ICMPv6(b[header.IPv6MinimumSize:])
	ic.SetType(header.ICMPv6EchoRequest)
	copy(ic[header.ICMPv6EchoMinimumSize:], payload)
	ic.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: ic, Src: s, Dst: d}))
	return b
}

func TestEchoReply(t *testing.T) {
	guest4, target4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("203.0.113.7")
	guest6, target6 := netip.MustParseAddr("2001:db8:ffff::1"), Addr6("c2.beacon.invalid")
	payload := []byte("rollgate ping, odd length")

	req := echo4(guest4, target4, payload, 0)
	dst, r, ok := echoReply(append(req, 0xee, 0xee)) // trailing link padding is not echoed
	if !ok || dst != target4 {
		t.Fatalf("echoReply(IPv4 echo) = %v, %v, want %v, true", dst, ok, target4)
	}
	ip := header.IPv4(r)
	ic := header.ICMPv4(ip.Payload())
	if !ip.IsChecksumValid() || ip.SourceAddress() != tcpip.AddrFrom4(target4.As4()) || ip.DestinationAddress() != tcpip.AddrFrom4(guest4.As4()) ||
		ic.Type() != header.ICMPv4EchoReply || ic.Ident() != 0x1234 || ic.Sequence() != 7 || !bytes.Equal(ic.Payload(), payload) ||
		checksum.Checksum(ic, 0) != 0xffff || len(r) != len(req) {
		t.Errorf("echoReply(IPv4 echo) = %x, not a valid reply", r)
	}

	req6 := echo6(guest6, target6, payload)
	dst, r, ok = echoReply(req6)
	if !ok || dst != target6 {
		t.Fatalf("echoReply(IPv6 echo) = %v, %v, want %v, true", dst, ok, target6)
	}
	ip6 := header.IPv6(r)
	ic6 := header.ICMPv6(ip6.Payload())
	want := header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: ic6, Src: ip6.SourceAddress(), Dst: ip6.DestinationAddress()})
	if ic6.Type() != header.ICMPv6EchoReply || ic6.Checksum() != want || ip6.SourceAddress() != tcpip.AddrFrom16(target6.As16()) ||
		!bytes.Equal(ic6[header.ICMPv6EchoMinimumSize:], payload) {
		t.Errorf("echoReply(IPv6 echo) = %x, checksum %#x want %#x", r, ic6.Checksum(), want)
	}

	for name, b := range map[string][]byte{
		"fragment":        echo4(guest4, target4, payload, 8),
		"broadcast":       echo4(guest4, netip.MustParseAddr("255.255.255.255"), payload, 0),
		"multicast":       echo4(guest4, netip.MustParseAddr("224.0.0.1"), payload, 0),
		"IPv6 multicast":  echo6(guest6, netip.MustParseAddr("ff02::1"), payload),
		"truncated":       req[:len(req)-1],
		"truncated IPv6":  req6[:len(req6)-1],
		"short":           req[:19],
		"empty":           nil,
		"echo reply":      r,
		"bad ihl":         append([]byte{0x41}, req[1:]...),
		"total too short": func() []byte { c := bytes.Clone(req); binary.BigEndian.PutUint16(c[2:], 27); return c }(),
	} {
		if _, reply, ok := echoReply(b); ok || reply != nil {
			t.Errorf("echoReply(%s %x) = %x, %v, want no reply", name, b, reply, ok)
		}
	}
	if !maybeEcho(req) || !maybeEcho(req6) || maybeEcho(r) || maybeEcho(nil) {
		t.Errorf("maybeEcho disagrees with echoReply")
	}
}
