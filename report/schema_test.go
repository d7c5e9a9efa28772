package report

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The schemas the CI formats are checked against are the upstream files, vendored unchanged
// under testdata/schemas with their licences (see the README there).

// compileSchema compiles a JSON schema from testdata/schemas, registering the files its
// $refs name.
func compileSchema(t testing.TB, main string, files map[string]string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for url, file := range files {
		f, err := os.Open(filepath.Join("testdata", "schemas", file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("schema %s: %v", file, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile(main)
	if err != nil {
		t.Fatalf("compiling %s: %v", main, err)
	}
	return s
}

// validateJSON returns the schema's verdict on data.
func validateJSON(t testing.TB, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

// Vendored XML schemas.
var (
	junit10XSD  = filepath.Join("testdata", "schemas", "junit-10", "junit-10.xsd")
	antJUnitXSD = filepath.Join("testdata", "schemas", "ant-junit", "JUnit.xsd")
)

// errXSD is what xmllintValidate wraps when the schema refuses the document.
var errXSD = errors.New("schema validation failed")

// xmllintValidate runs `xmllint --schema` (Debian libxml2-utils), the only XSD validator at
// hand: Go has none. Without xmllint the test skips, except under CI=true where it fails.
func xmllintValidate(t *testing.T, xsd string, doc []byte) error {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found (install libxml2-utils); CI=true requires the XSD checks")
		}
		t.Skip("xmllint not found (install libxml2-utils)")
	}
	p := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", xsd, p).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		// xmllint's exit status 3 is "validation error"; anything else is a broken run.
		return &xsdError{out: strings.TrimSpace(string(out))}
	default:
		t.Fatalf("xmllint: %v\n%s", err, out)
		return nil
	}
}

type xsdError struct{ out string }

func (e *xsdError) Error() string { return "xmllint: " + e.out }
func (e *xsdError) Unwrap() error { return errXSD }
