package sinkhole

import (
	"encoding/binary"
	"net/netip"
)

const (
	icmpv4Echo      = 8
	icmpv4EchoReply = 0
	icmpv6Echo      = 128
	icmpv6EchoReply = 129
	protoICMPv4     = 1
	protoICMPv6     = 58
	replyHopLimit   = 64
)

// maybeEcho is a cheap look at a packet's first bytes: could it be an ICMP echo request?
func maybeEcho(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	switch h[0] >> 4 {
	case 4:
		if len(h) < 20 {
			return false
		}
		ihl := int(h[0]&0x0f) * 4
		return h[9] == protoICMPv4 && ihl < len(h) && h[ihl] == icmpv4Echo
	case 6:
		return len(h) > 40 && h[6] == protoICMPv6 && h[40] == icmpv6Echo
	}
	return false
}

// echoReply answers an ICMP or ICMPv6 echo request (RFC 792, RFC 4443 §4) given as a whole IP
// packet: it returns the request's destination and the reply packet, which comes from that
// destination. Fragments, IPv6 extension headers and requests to multicast or broadcast
// addresses get no reply.
func echoReply(b []byte) (dst netip.Addr, reply []byte, ok bool) {
	if len(b) == 0 {
		return netip.Addr{}, nil, false
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return netip.Addr{}, nil, false
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:4]))
		frag := binary.BigEndian.Uint16(b[6:8])
		if ihl < 20 || total > len(b) || total < ihl+8 || frag&0x3fff != 0 || b[9] != protoICMPv4 || b[ihl] != icmpv4Echo {
			return netip.Addr{}, nil, false
		}
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		if !dst.IsGlobalUnicast() && !dst.IsLoopback() || dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return dst, nil, false
		}
		r := append([]byte(nil), b[:total]...)
		copy(r[12:16], b[16:20])
		copy(r[16:20], b[12:16])
		r[8] = replyHopLimit
		r[10], r[11] = 0, 0
		binary.BigEndian.PutUint16(r[10:12], ^onesSum(0, r[:ihl]))
		r[ihl] = icmpv4EchoReply
		r[ihl+2], r[ihl+3] = 0, 0
		binary.BigEndian.PutUint16(r[ihl+2:ihl+4], ^onesSum(0, r[ihl:]))
		return dst, r, true
	case 6:
		if len(b) < 48 {
			return netip.Addr{}, nil, false
		}
		plen := int(binary.BigEndian.Uint16(b[4:6]))
		if plen < 8 || 40+plen > len(b) || b[6] != protoICMPv6 || b[40] != icmpv6Echo {
			return netip.Addr{}, nil, false
		}
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		if dst.IsMulticast() || dst.IsUnspecified() {
			return dst, nil, false
		}
		r := append([]byte(nil), b[:40+plen]...)
		copy(r[8:24], b[24:40])
		copy(r[24:40], b[8:24])
		r[7] = replyHopLimit
		r[40] = icmpv6EchoReply
		r[42], r[43] = 0, 0
		// Pseudo-header (RFC 8200 §8.1): addresses, upper-layer length, next header.
		sum := uint32(onesSum(0, r[8:40])) + uint32(plen) + protoICMPv6
		binary.BigEndian.PutUint16(r[42:44], ^onesSum(sum, r[40:]))
		return dst, r, true
	}
	return netip.Addr{}, nil, false
}

// onesSum adds b to the ones' complement sum (RFC 1071) and folds it to 16 bits.
func onesSum(sum uint32, b []byte) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
