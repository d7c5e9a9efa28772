package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"sort"

	"github.com/rollgate/rollgate/inventory"
)

// ParseNet reads the sinkhole's stdout, one JSON inventory.NetEvent per line, and returns the
// events in time order. The sinkhole shares a namespace with hostile code, so its output is
// treated as hostile too: malformed lines, unknown protocols, impossible ports and addresses
// are skipped, strings are capped, and at most MaxEvents events are kept.
func ParseNet(r io.Reader) (events []inventory.NetEvent, truncated bool) {
	lr := newLineReader(r)
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var e inventory.NetEvent
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		switch e.Proto {
		case "dns", "tcp", "udp":
		default:
			continue
		}
		if e.Port < 0 || e.Port > 65535 || e.MS < 0 {
			continue
		}
		if e.Addr != "" {
			a, err := netip.ParseAddr(e.Addr)
			if err != nil {
				continue
			}
			e.Addr = a.Unmap().String()
		}
		e.ClockOffset = 0 // the host's to set (TagNetwork), never the stream's
		e.Name, e.QType, e.SNI = capField(e.Name), capField(e.QType), capField(e.SNI)
		e.HTTP, e.Host = capField(e.HTTP), capField(e.Host)
		if len(events) >= MaxEvents {
			truncated = true
			break
		}
		events = append(events, e)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].MS < events[j].MS })
	if events == nil {
		events = []inventory.NetEvent{}
	}
	return events, truncated || lr.truncated
}
