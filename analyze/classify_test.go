package analyze

import (
	"encoding/binary"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

func TestClassify(t *testing.T) {
	pe := make([]byte, 256)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3c:], 0x80)
	copy(pe[0x80:], "PE\x00\x00")
	notPE := append([]byte(nil), pe...)
	copy(notPE[0x80:], "XX")
	macho := []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}
	fat := []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2}
	javaClass := []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52}
	tests := []struct {
		name string
		head []byte
		want inventory.Kind
	}{
		{"a/core.dll", pe, inventory.KindPE},
		{"a/renamed.dat", pe, inventory.KindPE},
		{"a/x.bin", notPE, inventory.KindData},
		{"lib.dylib", macho, inventory.KindMachO},
		{"fat", fat, inventory.KindMachO},
		{"A.class", javaClass, inventory.KindData},
		{"run.ps1", []byte("Write-Host hi"), inventory.KindScript},
		{"postinstall", []byte("#!/bin/sh\n"), inventory.KindScript},
		{"data.cab", []byte("MSCF\x00\x00\x00\x00rest"), inventory.KindArchive},
		{"readme.txt", []byte("hello"), inventory.KindData},
		{"app/main.mjs", []byte("import x from 'y'"), inventory.KindScript},
		{"app/preload.cjs", []byte("require('x')"), inventory.KindScript},
		{"app/index.html", []byte("<html>"), inventory.KindScript},
		{"tool.hta", []byte("<html>"), inventory.KindScript},
		{"run.wsf", []byte("<job>"), inventory.KindScript},
		{"a.jse", []byte("#@~^"), inventory.KindScript},
		{"a.vbe", []byte("#@~^"), inventory.KindScript},
	}
	for _, tt := range tests {
		if got := classify(tt.name, tt.head); got != tt.want {
			t.Errorf("classify(%q, %q) = %v, want %v", tt.name, tt.head[:min(8, len(tt.head))], got, tt.want)
		}
	}
}
