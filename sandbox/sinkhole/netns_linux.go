package sinkhole

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The namespace is configured with nothing but system calls: the sinkhole runs from a
// scratch image, so there is no ip(8) to call.

// openTUN creates the TUN device name (IFF_TUN|IFF_NO_PI: bare IP packets, no header) and
// returns its non-blocking descriptor. The device vanishes when the descriptor closes.
func openTUN(name string) (int, error) {
	if len(name) == 0 || len(name) >= unix.IFNAMSIZ {
		return -1, fmt.Errorf("interface name %q: want 1 to %d bytes", name, unix.IFNAMSIZ-1)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("TUNSETIFF %q: %w", name, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// ifIndex returns the kernel's index of the interface name.
func ifIndex(name string) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("SIOCGIFINDEX %q: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

// linkUp sets IFF_UP on the interface name.
func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS %q: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS %q: %w", name, err)
	}
	return nil
}

// addAddr assigns p to the interface (RTM_NEWADDR). IPv6 skips duplicate address detection:
// the only other party on the link is the sinkhole's own stack.
func addAddr(index int, p netip.Prefix) error {
	fam := family(p.Addr())
	var flags uint8
	if fam == unix.AF_INET6 {
		flags = unix.IFA_F_NODAD
	}
	msg := newNetlinkMsg(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	// struct ifaddrmsg
	msg.put([]byte{fam, uint8(p.Bits()), flags, unix.RT_SCOPE_UNIVERSE})
	msg.put(binary.NativeEndian.AppendUint32(nil, uint32(index)))
	msg.attr(unix.IFA_LOCAL, p.Addr().AsSlice())
	msg.attr(unix.IFA_ADDRESS, p.Addr().AsSlice())
	if err := msg.exec(); err != nil {
		return fmt.Errorf("adding address %s: %w", p, err)
	}
	return nil
}

// addDefaultRoute points the default route of a's family at the interface (RTM_NEWROUTE,
// main table, no gateway: the TUN is point-to-point).
func addDefaultRoute(index int, a netip.Addr) error {
	fam := family(a)
	scope := uint8(unix.RT_SCOPE_LINK)
	if fam == unix.AF_INET6 {
		scope = unix.RT_SCOPE_UNIVERSE
	}
	msg := newNetlinkMsg(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	// struct rtmsg
	msg.put([]byte{fam, 0, 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_STATIC, scope, unix.RTN_UNICAST})
	msg.put(make([]byte, 4)) // rtm_flags
	msg.attr(unix.RTA_OIF, binary.NativeEndian.AppendUint32(nil, uint32(index)))
	if err := msg.exec(); err != nil {
		return fmt.Errorf("adding default route (family %d): %w", fam, err)
	}
	return nil
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

var netlinkSeq atomic.Uint32

// netlinkMsg is one rtnetlink request being built.
type netlinkMsg struct {
	b   []byte
	seq uint32
}

func newNetlinkMsg(typ uint16, flags int) *netlinkMsg {
	m := &netlinkMsg{b: make([]byte, unix.SizeofNlMsghdr, 64), seq: netlinkSeq.Add(1)}
	h := (*unix.NlMsghdr)(unsafe.Pointer(&m.b[0]))
	h.Type = typ
	h.Flags = uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK | flags)
	h.Seq = m.seq
	return m
}

func (m *netlinkMsg) put(b []byte) { m.b = append(m.b, b...) }

// attr appends a struct rtattr, padded to 4 bytes.
func (m *netlinkMsg) attr(typ uint16, data []byte) {
	n := unix.SizeofRtAttr + len(data)
	m.b = binary.NativeEndian.AppendUint16(m.b, uint16(n))
	m.b = binary.NativeEndian.AppendUint16(m.b, typ)
	m.b = append(m.b, data...)
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
}

// exec sends the request and waits for the kernel's acknowledgement.
func (m *netlinkMsg) exec() error {
	binary.NativeEndian.PutUint32(m.b[0:4], uint32(len(m.b)))
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if err := unix.Sendto(fd, m.b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("sendto", err)
	}
	buf := make([]byte, 8192)
	for range 16 { // the ack is the first message for our sequence number; skip strays
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return os.NewSyscallError("recvfrom", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, r := range msgs {
			if r.Header.Seq != m.seq || r.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if len(r.Data) < 4 {
				return errors.New("short netlink error message")
			}
			if code := int32(binary.NativeEndian.Uint32(r.Data)); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
	}
	return errors.New("no netlink acknowledgement")
}
