package apple

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rollgate/rollgate/internal/testutil"
	"github.com/rollgate/rollgate/inventory"
	"github.com/rollgate/rollgate/unpack"
	"github.com/sassoftware/relic/v7/lib/pkcs7"
)

// signedImage builds a minimal signed image: data, an "XML" area, the signature, the koly
// trailer. Only the parts VerifyDMG reads are real.
func signedImage(t *testing.T) []byte {
	_, file, _, _ := runtime.Caller(0)
	keys := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "gen", "mac", "keys")
	read := func(n string) []byte {
		b, err := os.ReadFile(filepath.Join(keys, n))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		return blk.Bytes
	}
	k, err := x509.ParsePKCS8PrivateKey(read("app.key"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(read("app.pem"))
	ca, _ := x509.ParseCertificate(read("ca.pem"))

	data := bytes.Repeat([]byte("disk image bytes "), 500)
	xml := []byte("<plist>blkx</plist>")
	body := append(append([]byte(nil), data...), xml...)
	be := binary.BigEndian
	koly := make([]byte, kolySize)
	copy(koly, "koly")
	be.PutUint64(koly[kolyXMLOffset:], uint64(len(data)))
	be.PutUint64(koly[kolyXMLLength:], uint64(len(xml)))
	be.PutUint64(koly[kolySigOffset:], uint64(len(body)))
	rep := sha256.Sum256(koly) // signature length still zero here
	code := sha256.Sum256(body)

	// CodeDirectory 0x20100, one unpaged code slot, special slots 1..6.
	ident := []byte("acme.dmg\x00")
	hashOff := 52 + len(ident) + 6*32
	cd := make([]byte, hashOff+32)
	be.PutUint32(cd[0:], csCodeDirectory)
	be.PutUint32(cd[4:], uint32(len(cd)))
	be.PutUint32(cd[8:], 0x20200)
	be.PutUint32(cd[16:], uint32(hashOff))
	be.PutUint32(cd[20:], 52)
	be.PutUint32(cd[24:], 6)
	be.PutUint32(cd[28:], 1)
	be.PutUint32(cd[32:], uint32(len(body)))
	cd[36], cd[37] = 32, 2
	copy(cd[52:], ident)
	copy(cd[hashOff-6*32:], rep[:])
	copy(cd[hashOff:], code[:])
	d := sha256.Sum256(cd)
	bld := pkcs7.NewBuilder(k.(crypto.Signer), []*x509.Certificate{leaf, ca}, crypto.SHA256)
	bld.SetDetachedContent(pkcs7.OidData, d[:])
	psd, err := bld.Sign()
	if err != nil {
		t.Fatal(err)
	}
	cms, _ := psd.Marshal()
	wrap := make([]byte, 8+len(cms))
	be.PutUint32(wrap, csBlobWrapper)
	be.PutUint32(wrap[4:], uint32(len(wrap)))
	copy(wrap[8:], cms)
	sb := make([]byte, 28)
	be.PutUint32(sb, csSuperBlob)
	be.PutUint32(sb[8:], 2)
	be.PutUint32(sb[12:], slotCodeDir)
	be.PutUint32(sb[16:], 28)
	be.PutUint32(sb[20:], slotSignature)
	be.PutUint32(sb[24:], uint32(28+len(cd)))
	sb = append(append(sb, cd...), wrap...)
	be.PutUint32(sb[4:], uint32(len(sb)))
	be.PutUint64(koly[kolySigLength:], uint64(len(sb)))
	return append(append(body, sb...), koly...)
}

func TestVerifyDMG(t *testing.T) {
	v := testVerifier(t)
	img := signedImage(t)
	tests := []struct {
		name  string
		b     []byte
		state inventory.SigState
	}{
		{"signed", img, inventory.SigSigned},
		{"data changed", func() []byte { b := bytes.Clone(img); b[100] ^= 1; return b }(), inventory.SigInvalid},
		{"koly changed", func() []byte { b := bytes.Clone(img); b[len(b)-kolySize+100] ^= 1; return b }(), inventory.SigInvalid},
	}
	for _, tt := range tests {
		sig, err := v.VerifyDMG(bytes.NewReader(tt.b), int64(len(tt.b)))
		if err != nil || sig.State != tt.state {
			t.Errorf("VerifyDMG(%s) = %+v, %v, want %s", tt.name, sig, err, tt.state)
			continue
		}
		if tt.state == inventory.SigSigned && (!sig.Trusted || sig.TeamID != "ACME123456") {
			t.Errorf("VerifyDMG(%s) = %+v, want trusted, team ACME123456", tt.name, sig)
		}
	}
	f, err := os.ReadFile(testutil.Sample(t, "dmg/relic-dummy.dmg"))
	if err != nil {
		t.Fatal(err)
	}
	if sig, err := VerifyDMG(bytes.NewReader(f), int64(len(f))); err != nil || sig.State != inventory.SigUnsigned {
		t.Errorf("VerifyDMG(relic-dummy.dmg) = %+v, %v, want unsigned", sig, err)
	}
	if _, err := VerifyDMG(bytes.NewReader([]byte("short")), 5); !errors.Is(err, unpack.ErrFormat) {
		t.Errorf("VerifyDMG(short) = %v, want ErrFormat", err)
	}
}
