package msi

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cfb"
)

// poolBytes writes a string pool: the code page word (with the long-reference flag), then
// per string its length and reference count, escaping strings of 64 KiB or more.
func poolBytes(codepage uint32, long bool, strs []string) (pool, data []byte) {
	le := binary.LittleEndian
	hi := uint16(codepage >> 16)
	if long {
		hi |= 0x8000
	}
	pool = le.AppendUint16(pool, uint16(codepage))
	pool = le.AppendUint16(pool, hi)
	for _, s := range strs {
		switch {
		case s == "":
			pool = le.AppendUint32(pool, 0)
		case len(s) >= 1<<16:
			pool = le.AppendUint16(pool, 0)
			pool = le.AppendUint16(pool, 1)
			pool = le.AppendUint16(pool, uint16(len(s)))
			pool = le.AppendUint16(pool, uint16(len(s)>>16))
		default:
			pool = le.AppendUint16(pool, uint16(len(s)))
			pool = le.AppendUint16(pool, 1)
		}
		data = append(data, s...)
	}
	return pool, data
}

func TestStringPool(t *testing.T) {
	big := strings.Repeat("L", 70000)
	tests := []struct {
		name     string
		codepage uint32
		long     bool
		strs     []string
		want     []string
	}{
		{"short refs", 1252, false, []string{"a", "", "bc"}, []string{"", "a", "", "bc"}},
		{"long string escape", 1252, true, []string{"x", big, "y"}, []string{"", "x", big, "y"}},
		{"windows-1252", 1252, false, []string{"caf\xe9"}, []string{"", "café"}},
		{"utf-8", 65001, false, []string{"caf\xc3\xa9", "bad\xff"}, []string{"", "café", "bad\uFFFD"}},
		{"shift-jis", 932, false, []string{"\x83\x65\x83\x58\x83\x67"}, []string{"", "テスト"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, data := poolBytes(tt.codepage, tt.long, tt.strs)
			sp, err := (&Package{}).parseStringPool(pool, data)
			if err != nil {
				t.Fatalf("parseStringPool = %v", err)
			}
			if !reflect.DeepEqual(sp.strings, tt.want) {
				t.Errorf("parseStringPool strings = %.40q, want %.40q", sp.strings, tt.want)
			}
			wantRef := 2
			if tt.long {
				wantRef = 3
			}
			if sp.refBytes != wantRef || sp.codepage != int(tt.codepage) {
				t.Errorf("refBytes, codepage = %d, %d; want %d, %d", sp.refBytes, sp.codepage, wantRef, tt.codepage)
			}
		})
	}
}

func TestDecodeRowsLongRefs(t *testing.T) {
	strs := make([]string, 70000)
	for i := range strs {
		strs[i] = "s" + strings.Repeat("x", i%5)
	}
	strs[69999] = "last"
	pool, data := poolBytes(1252, true, strs)
	p := &Package{streams: map[string]*cfb.Entry{}}
	sp, err := p.parseStringPool(pool, data)
	if err != nil {
		t.Fatal(err)
	}
	p.pool = sp
	cols := []Column{
		{"Key", colString | colKey | colValid | 72},
		{"Small", colNullable | colValid | 2},
		{"Big", colNullable | colValid | 4},
	}
	// Two rows, column-major: 3-byte string refs, int16 ^ 0x8000, int32 ^ 0x80000000; 0 is NULL.
	var rows []byte
	rows = append(rows, 0x70, 0x11, 0x01 /* 70000 */, 0x01, 0x00, 0x00 /* 1 */)
	minus5 := int16(-5)
	rows = binary.LittleEndian.AppendUint16(rows, uint16(minus5)^0x8000)
	rows = binary.LittleEndian.AppendUint16(rows, 0)
	rows = binary.LittleEndian.AppendUint32(rows, 0)
	rows = binary.LittleEndian.AppendUint32(rows, uint32(123456)^0x80000000)
	tab, err := p.decodeRows("T", cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]Value{{"last", int32(-5), nil}, {"s", nil, int32(123456)}}
	if !reflect.DeepEqual(tab.Rows, want) {
		t.Errorf("decodeRows = %v, want %v", tab.Rows, want)
	}
	if _, err := p.decodeRows("T", cols, rows[:len(rows)-1]); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("decodeRows(short) = %v, want ErrFormat", err)
	}
	bad := append([]byte(nil), rows...)
	bad[2] = 0x7f // string id beyond the pool
	if _, err := p.decodeRows("T", cols, bad); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("decodeRows(bad ref) = %v, want ErrFormat", err)
	}
}
