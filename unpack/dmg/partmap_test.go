package dmg

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"reflect"
	"testing"
)

// Disks with a partition map around relic-dummy's HFS+ volume at sector 64.
func mbrDisk(vol []byte) []byte {
	d := make([]byte, 64*512+len(vol)+4096)
	copy(d[64*512:], vol)
	e := d[446:]
	e[4] = 0xaf
	binary.LittleEndian.PutUint32(e[8:], 64)
	binary.LittleEndian.PutUint32(e[12:], uint32(len(vol)/512))
	e = d[446+16:]
	e[4] = 0x06
	binary.LittleEndian.PutUint32(e[8:], uint32(64+len(vol)/512))
	binary.LittleEndian.PutUint32(e[12:], 8)
	d[510], d[511] = 0x55, 0xaa
	return d
}

func gptDisk(vol []byte) []byte {
	d := make([]byte, 64*512+len(vol)+4096)
	copy(d[64*512:], vol)
	d[446+4] = 0xee
	binary.LittleEndian.PutUint32(d[446+8:], 1)
	binary.LittleEndian.PutUint32(d[446+12:], uint32(len(d)/512-1))
	d[510], d[511] = 0x55, 0xaa
	h := d[512:]
	copy(h, "EFI PART")
	binary.LittleEndian.PutUint64(h[72:], 2)
	binary.LittleEndian.PutUint32(h[80:], 4)
	binary.LittleEndian.PutUint32(h[84:], 128)
	e := d[1024:]
	// 48465300-0000-11aa-aa11-00306543ecac in GPT's mixed-endian layout.
	copy(e, []byte{0x00, 0x53, 0x46, 0x48, 0x00, 0x00, 0xaa, 0x11, 0xaa, 0x11, 0x00, 0x30, 0x65, 0x43, 0xec, 0xac})
	e[16] = 1
	binary.LittleEndian.PutUint64(e[32:], 64)
	binary.LittleEndian.PutUint64(e[40:], uint64(64+len(vol)/512-1))
	return d
}

func apmDisk(vol []byte) []byte {
	d := make([]byte, 64*512+len(vol)+4096)
	copy(d[64*512:], vol)
	copy(d, "ER")
	put := func(i int, start, count uint32, typ string) {
		e := d[512*i:]
		copy(e, "PM")
		binary.BigEndian.PutUint32(e[4:], 2)
		binary.BigEndian.PutUint32(e[8:], start)
		binary.BigEndian.PutUint32(e[12:], count)
		copy(e[48:], typ)
	}
	put(1, 1, 63, "Apple_partition_map")
	put(2, 64, uint32(len(vol)/512), "Apple_HFS")
	return d
}

func TestPartitionMaps(t *testing.T) {
	vol := relicVolume(t)
	tests := []struct {
		name string
		disk []byte
		want []string
	}{
		{"mbr", mbrDisk(vol), []string{"0.hfs", "1.Windows_FAT_16"}}, // two data partitions
		{"gpt", gptDisk(vol), []string{"0.hfs"}},
		{"apm", apmDisk(vol), []string{"0.Apple_partition_map", "1.hfs"}},
	}
	for _, tt := range tests {
		for _, wrapped := range []bool{false, true} {
			in := tt.disk
			if wrapped {
				in = wrapUDIF([]part{{"whole disk (GUID_partition_scheme : 0)", tt.disk}})
			}
			im, err := NewReader(bytes.NewReader(in), int64(len(in)))
			if err != nil {
				t.Fatalf("NewReader(%s, udif %v) = %v", tt.name, wrapped, err)
			}
			var got []string
			for _, p := range im.Partitions() {
				got = append(got, p.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Partitions(%s, udif %v) = %q, want %q", tt.name, wrapped, got, tt.want)
			}
			p := "dummy.app/Contents/Info.plist"
			if tt.name == "mbr" {
				p = "0.hfs/" + p // the FAT partition is listed beside the volume
			}
			if _, err := fs.Stat(im, p); err != nil {
				t.Errorf("Stat(%s, udif %v) = %v", tt.name, wrapped, err)
			}
		}
	}
}
