package baselines

// Recordings: what, besides the installer's bytes, a baseline's inventory was made from. A
// baseline file itself stays what `baseline record` and `baseline accept` both write, byte for
// byte; `baseline record`, which analysed the installer itself, also leaves a small recording
// beside it in RecordingsDir. Package gate reuses the baseline's inventory for an installer
// whose bytes, file name and analyzer equal the recording's, while the baseline file is the
// one recorded (its SHA-256 is in the recording; an accepted or edited baseline no longer
// matches and is never reused).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/rollgate/rollgate/internal/digest"
)

// RecordingsDir is the folder, inside a baseline folder, that holds the recordings; Find and
// Recordings never mistake one for a baseline.
const RecordingsDir = ".recorded"

// RecordingSchema is a recording file's schema version.
const RecordingSchema = "rollgate.recording/v1"

// MaxRecordings bounds the recordings read from one folder; MaxRecordingSize one recording.
const (
	MaxRecordings    = 1 << 16
	MaxRecordingSize = 64 << 10 // bytes
)

// Analysis is what an inventory was made from besides the installer's bytes.
type Analysis struct {
	// Analyzer is the identity of the analyzer that made the inventory: its build, formats
	// and trust set (analyze.Analyzer.Identity).
	Analyzer string `json:"analyzer"`
	// Installer is the installer's file name: the kind of the installer's own entry and a
	// fallback product identity are read from it.
	Installer string `json:"installer"`
}

// Recording ties a baseline file to what its inventory was made from.
type Recording struct {
	Schema string `json:"schema"`
	// Baseline is the baseline file's name in its folder; BaselineSHA256 its content's hash
	// when recorded.
	Baseline       string `json:"baseline"`
	BaselineSHA256 string `json:"baseline_sha256"`
	// InstallerSHA256 is the installer's hash (the inventory's "(installer)" entry).
	InstallerSHA256 string `json:"installer_sha256"`
	Analysis
}

// WriteRecording records what the inventory of the baseline file at p (in its folder) was
// made from; a nil a removes any recording of p (the inventory read more than the installer,
// or its analyzer has no identity).
func WriteRecording(p string, a *Analysis) error {
	dir, name := filepath.Split(p)
	rp := filepath.Join(dir, RecordingsDir, name)
	if a == nil {
		if err := os.Remove(rp); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := Read(p)
	if err != nil {
		return err
	}
	sum, err := fileSHA256(p)
	if err != nil {
		return err
	}
	rec := Recording{Schema: RecordingSchema, Baseline: name, BaselineSHA256: sum, InstallerSHA256: b.InstallerSHA256(), Analysis: *a}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, RecordingsDir), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(dir, RecordingsDir), ".recording-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Chmod(FileMode)
	if err := errors.Join(werr, cerr, tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), rp); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Recordings lists the recordings of the baselines in dir, sorted by baseline file name.
// Unreadable or malformed recordings are passed over: without one, an installer is analysed.
func Recordings(dir string) ([]Recording, error) {
	matches, err := filepath.Glob(filepath.Join(dir, RecordingsDir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(matches) > MaxRecordings {
		return nil, fmt.Errorf("%s: %d recordings, over the limit of %d", filepath.Join(dir, RecordingsDir), len(matches), MaxRecordings)
	}
	sort.Strings(matches)
	var out []Recording
	for _, m := range matches {
		rec, err := readRecording(m)
		if err != nil || rec.Schema != RecordingSchema || rec.Baseline != filepath.Base(m) || rec.InstallerSHA256 == "" {
			continue
		}
		out = append(out, *rec)
	}
	return out, nil
}

func readRecording(p string) (*Recording, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRecordingSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxRecordingSize {
		return nil, fmt.Errorf("recording %s: over the %d-byte limit", p, MaxRecordingSize)
	}
	var rec Recording
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("reading recording %s: %w", p, err)
	}
	return &rec, nil
}

// ErrStale: the baseline file is no longer the one recorded (accepted, edited or replaced).
var ErrStale = errors.New("baseline changed since it was recorded")

// ReadRecorded reads the baseline a recording in dir names, if its content is still the one
// recorded (else ErrStale).
func ReadRecorded(dir string, rec Recording) (*Baseline, error) {
	p := filepath.Join(dir, filepath.Base(rec.Baseline))
	sum, err := fileSHA256(p)
	if err != nil {
		return nil, err
	}
	if sum != rec.BaselineSHA256 {
		return nil, fmt.Errorf("%s: %w", p, ErrStale)
	}
	b, err := Read(p)
	if err != nil {
		return nil, err
	}
	if b.InstallerSHA256() != rec.InstallerSHA256 {
		return nil, fmt.Errorf("%s: %w", p, ErrStale)
	}
	return b, nil
}

// fileSHA256 hashes the file at p, streamed, within MaxFileSize.
func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum, n, err := digest.Reader(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("hashing %q: %w", p, err)
	}
	if n > MaxFileSize {
		return "", fmt.Errorf("baseline %s: over the %d-byte limit", p, MaxFileSize)
	}
	return sum, nil
}
