// Command gen writes the payload and the WiX source of the benchmark installer that
// bench/run.sh builds with wixl: six text-like files (dictionary words with varying numbers,
// about 3:1 under deflate) and one incompressible file, all from fixed seeds so every run
// builds the same bytes.
//
//	go run ./bench/gen -dir DIR [-mb 300] [-flip]
//
// -mb scales the payload (300 MB: six 40 MB text files and one 60 MB random file); -flip
// changes 7 bytes in the middle of text3.txt, for the pair that verify and diffoscope compare.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

var words = []string{
	"installer", "payload", "cabinet", "folder", "version", "signature", "baseline", "update",
	"product", "component", "feature", "registry", "service", "driver", "library", "resource",
	"manifest", "assembly", "runtime", "config", "module", "plugin", "network", "client",
	"server", "session", "window", "dialog", "button", "status", "error", "warning",
}

func main() {
	dir := flag.String("dir", "", "output folder (created)")
	mb := flag.Int("mb", 300, "payload megabytes: 80% text in six files, 20% random in one")
	flip := flag.Bool("flip", false, "change 7 bytes of text3.txt")
	flag.Parse()
	if *dir == "" || *mb < 1 || *mb > 4000 {
		fmt.Fprintln(os.Stderr, "usage: gen -dir DIR [-mb 1..4000] [-flip]")
		os.Exit(2)
	}
	if err := run(*dir, int64(*mb)*1000*1000, *flip); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string, total int64, flip bool) error {
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		return err
	}
	textSize := total * 2 / 15 // six files: 80 %
	var names []string
	for i := 1; i <= 6; i++ {
		name := fmt.Sprintf("text%d.txt", i)
		if err := writeText(filepath.Join(dir, "src", name), textSize, uint64(i), flip && i == 3); err != nil {
			return err
		}
		names = append(names, name)
	}
	if err := writeRandom(filepath.Join(dir, "src", "random.bin"), total-6*textSize); err != nil {
		return err
	}
	names = append(names, "random.bin")
	return writeWXS(filepath.Join(dir, "bench.wxs"), names)
}

func writeText(p string, size int64, seed uint64, flip bool) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var line []byte
	var n int64
	for n < size {
		line = line[:0]
		for range 4 + rng.IntN(8) {
			if rng.IntN(2) == 0 {
				line = append(line, words[rng.IntN(len(words))]...)
				line = append(line, ' ')
			}
			line = strconv.AppendUint(line, rng.Uint64(), 36)
			line = append(line, ' ')
		}
		line[len(line)-1] = '\n'
		if rem := size - n; int64(len(line)) > rem {
			line = line[:rem]
		}
		if flip && n <= size/2 && size/2 < n+int64(len(line)) && len(line) >= 7 {
			copy(line, "FLIPPED")
		}
		w.Write(line)
		n += int64(len(line))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeRandom(p string, size int64) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	var seed [32]byte
	copy(seed[:], "rollgate bench incompressible!!")
	rng := rand.NewChaCha8(seed)
	buf := make([]byte, 1<<20)
	for size > 0 {
		k := min(int64(len(buf)), size)
		rng.Read(buf[:k])
		if _, err := f.Write(buf[:k]); err != nil {
			f.Close()
			return err
		}
		size -= k
	}
	return f.Close()
}

func writeWXS(p string, names []string) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprint(w, `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="3A1F0C2E-9B7D-4C55-8E11-0B5E0C000001" Name="Rollgate Bench" Language="1033" Version="1.0.0"
           Manufacturer="rollgate bench" UpgradeCode="3A1F0C2E-9B7D-4C55-8E11-0B5E0C0000FF">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Description="rollgate benchmark payload"/>
    <Media Id="1" Cabinet="bench.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Bench">
`)
	for i, n := range names {
		fmt.Fprintf(w, `          <Component Id="C%d" Guid="3A1F0C2E-9B7D-4C55-8E11-0B5E0C0001%02d" Win64="yes">
            <File Id="F%d" Name="%s" Source="$(var.Src)/%s" KeyPath="yes"/>
          </Component>
`, i, i, i, n, n)
	}
	fmt.Fprint(w, `        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Title="Bench" Level="1">
`)
	for i := range names {
		fmt.Fprintf(w, "      <ComponentRef Id=\"C%d\"/>\n", i)
	}
	fmt.Fprint(w, `    </Feature>
  </Product>
</Wix>
`)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
