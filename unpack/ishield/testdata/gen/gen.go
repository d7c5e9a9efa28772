// Command gen builds the InstallShield launcher fixtures of unpack/ishield/testdata: a
// committed PE (testdata/fixtures/win/pe/AcmePhone-1.0.unsigned.exe) standing in for
// InstallShield's setup.exe, followed by a payload in the layouts ClamAV's test launchers
// have, around the committed Acme MSIs. No InstallShield is needed (it runs on Windows only);
// the layouts are checked against ClamAV's parser on real launchers in TestClamAVConformance.
//
//	go run ./unpack/ishield/testdata/gen testdata/fixtures/win unpack/ishield/testdata
//
//	acme-is-1.0.exe            Basic MSI launcher: Setup.ini (UTF-16), AcmePhone.msi = acme-1.0.msi
//	                           (obfuscated, deflated), 0x0409.ini  (the baseline)
//	acme-is-1.1.exe            the same around acme-1.1.msi  (benign update)
//	acme-is-1.1-runkey.exe     AcmePhone.msi = msitables/acme-1.1-runkey.msi (a Run value)
//	acme-is-1.1-renamed.exe    acme-1.1.msi carried as AcmePhone-1.1.0.msi, Setup.ini naming it
//	acme-is-1.1-sideload.exe   acme-1.1.msi + version.dll beside it in the launcher's folder
//	acme-is-1.1-stub.exe       acme-1.1.msi behind a stub whose code changed at the same version
//	                           (one byte of its first section flipped: a trojaned setup.exe)
//	acme-is-1.1-iscab.exe      InstallScript launcher (plain layout): Disk1\setup.ini and an
//	                           InstallShield cabinet Disk1\data1.cab (not read: inconclusive)
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rollgate/rollgate/unpack/ishield/ishieldtest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen <testdata/fixtures/win> <out dir>")
		os.Exit(2)
	}
	fix, out := os.Args[1], os.Args[2]
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(fix, p))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return b
	}
	stub := read("pe/AcmePhone-1.0.unsigned.exe")
	trojan := append([]byte{}, stub...)
	trojan[0x600] ^= 0xff // in .text (PointerToRawData 0x400)
	ini := func(pkg, version string) ishieldtest.File {
		return ishieldtest.File{Name: "Setup.ini", Flags: 6, Deflate: true, Data: ishieldtest.UTF16(
			"[Info]\r\nName=INTL\r\nVersion=1.00.000\r\n\r\n[Startup]\r\nProduct=Acme Softphone\r\nPackageName=" + pkg +
				"\r\nProductCode={6E2B6A5B-1C9D-4E55-9D3C-2B7C6A1E0F11}\r\nProductVersion=" + version + "\r\nLauncherName=setup.exe\r\n")}
	}
	lang := ishieldtest.File{Name: "0x0409.ini", Flags: 6, Deflate: true, Data: ishieldtest.UTF16("[0x0409]\r\nTITLE_MAIN=Acme Softphone\r\n")}
	msi := func(name, fixture string) ishieldtest.File {
		return ishieldtest.File{Name: name, Flags: 6, Deflate: true, Data: read(fixture)}
	}
	const pdb = `C:\CodeBases\isdev\src\Runtime\MSI\Shared\Setup\Release\setup.pdb`
	launchers := []struct {
		name    string
		payload []byte
	}{
		{"acme-is-1.0.exe", ishieldtest.Encoded(pdb, lang, msi("AcmePhone.msi", "acme-1.0.msi"), ini("AcmePhone.msi", "1.0.0"))},
		{"acme-is-1.1.exe", ishieldtest.Encoded(pdb, lang, msi("AcmePhone.msi", "acme-1.1.msi"), ini("AcmePhone.msi", "1.1.0"))},
		{"acme-is-1.1-runkey.exe", ishieldtest.Encoded(pdb, lang, msi("AcmePhone.msi", "msitables/acme-1.1-runkey.msi"), ini("AcmePhone.msi", "1.1.0"))},
		{"acme-is-1.1-renamed.exe", ishieldtest.Encoded(pdb, lang, msi("AcmePhone-1.1.0.msi", "acme-1.1.msi"), ini("AcmePhone-1.1.0.msi", "1.1.0"))},
		{"acme-is-1.1-sideload.exe", ishieldtest.Encoded(pdb, lang, msi("AcmePhone.msi", "acme-1.1.msi"),
			ishieldtest.File{Name: "version.dll", Flags: 4, Data: read("pe/cryptbase.dll")}, ini("AcmePhone.msi", "1.1.0"))},
		{"acme-is-1.1-stub.exe", ishieldtest.Encoded(pdb, lang, msi("AcmePhone.msi", "acme-1.1.msi"), ini("AcmePhone.msi", "1.1.0"))},
		{"acme-is-1.1-iscab.exe", ishieldtest.Plain(
			ishieldtest.File{Name: "data1.cab", Path: `Disk1\data1.cab`, Data: append([]byte("ISc(\x0c\x00\x01\x01"), make([]byte, 504)...)},
			ishieldtest.File{Name: "setup.ini", Path: `Disk1\setup.ini`, Data: []byte(
				"[Startup]\r\nAppName=Acme Softphone\r\nProductGUID=6F1C7A52-0000-4000-8000-ACME00000002\r\nCompanyName=Acme Softphone Ltd\r\n")})},
	}
	for _, l := range launchers {
		s := stub
		if l.name == "acme-is-1.1-stub.exe" {
			s = trojan
		}
		if err := os.WriteFile(filepath.Join(out, l.name), append(append([]byte{}, s...), l.payload...), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
