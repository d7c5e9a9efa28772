package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes — contract (DESIGN.md).
const (
	exitPass         = 0
	exitFail         = 1
	exitUsage        = 2
	exitInconclusive = 3
)

// exitError carries an exit code out of a command's RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// withCode marks err with an exit code; a nil err with code != 0 exits silently.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "rollgate",
		Short:         "Decide whether an installer update may roll out",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolP("quiet", "q", false, "no progress on stderr")
	root.PersistentFlags().Bool("no-color", false, "no color in the table (also when NO_COLOR is set; color is only ever used on a terminal)")
	baseline := newBaselineCmd()
	baseline.AddCommand(newBaselineAcceptCmd())
	root.AddCommand(
		newInspectCmd(),
		baseline,
		newVerifyCmd(),
		newSandboxCmd(),
		newSinkholeCmd(),
		newVersionCmd(),
	)
	return root
}

// run is main without os.Exit, so testscript can call it in-process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitPass
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "rollgate:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "rollgate:", err)
	return exitUsage
}
