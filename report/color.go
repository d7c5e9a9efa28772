package report

import "bytes"

// ANSI SGR sequences for the table.
const (
	sgrReset   = "\x1b[0m"
	sgrBoldRed = "\x1b[1;31m"
	sgrRed     = "\x1b[31m"
	sgrYellow  = "\x1b[33m"
	sgrCyan    = "\x1b[36m"
	sgrDim     = "\x1b[2m"
	sgrGreen   = "\x1b[1;32m"
	sgrBoldYel = "\x1b[1;33m"
)

var severityColor = map[string]string{
	"critical": sgrBoldRed, "high": sgrRed, "medium": sgrYellow, "low": sgrCyan, "info": sgrDim,
}

var verdictColor = map[string]string{"PASS": sgrGreen, "FAIL": sgrBoldRed, "INCONCLUSIVE": sgrBoldYel}

// Colorize colors the severity column of the findings tables (the rows after a header line
// starting with SEVERITY or SUPPRESSED, up to the blank line) and the verdict word. It runs
// on the table after tabwriter aligned it, so escape codes cannot skew the columns; vendor
// strings in it went through report.Clean, so they hold no escape codes of their own.
func Colorize(table []byte) []byte {
	var out bytes.Buffer
	inFindings := false
	for _, line := range bytes.SplitAfter(table, []byte("\n")) {
		text := bytes.TrimRight(line, "\n")
		switch {
		case bytes.HasPrefix(text, []byte("SEVERITY ")), bytes.HasPrefix(text, []byte("SUPPRESSED ")):
			inFindings = true
		case len(text) == 0:
			inFindings = false
		case inFindings:
			word, _, _ := bytes.Cut(text, []byte(" "))
			if c, ok := severityColor[string(word)]; ok {
				out.WriteString(c)
				out.Write(word)
				out.WriteString(sgrReset)
				out.Write(line[len(word):])
				continue
			}
		case bytes.HasPrefix(text, []byte("verdict: ")):
			rest := text[len("verdict: "):]
			word, _, _ := bytes.Cut(rest, []byte(" "))
			if c, ok := verdictColor[string(word)]; ok {
				out.WriteString("verdict: ")
				out.WriteString(c)
				out.Write(word)
				out.WriteString(sgrReset)
				out.Write(line[len("verdict: ")+len(word):])
				continue
			}
		}
		out.Write(line)
	}
	return out.Bytes()
}
