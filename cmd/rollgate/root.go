package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rollgate/rollgate/gate"
	"github.com/rollgate/rollgate/internal/term"
)

// Exit codes — contract (DESIGN.md); the gate package owns them.
const (
	exitPass         = gate.ExitPass
	exitFail         = gate.ExitFail
	exitUsage        = gate.ExitUsage
	exitInconclusive = gate.ExitInconclusive
)

// withCode marks err with an exit code; a nil err with code != 0 exits silently.
func withCode(code int, err error) error { return gate.WithCode(code, err) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "rollgate",
		Short:         "Decide whether an installer update may roll out",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --version prints what `rollgate version` prints (cobra's own template says less).
	root.Flags().Bool("version", false, "print rollgate's version, VCS revision and Go version")
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if v, _ := cmd.Flags().GetBool("version"); v {
			printVersion(cmd.OutOrStdout())
			return nil
		}
		return cmd.Help()
	}
	root.PersistentFlags().BoolP("quiet", "q", false, "no progress on stderr")
	root.PersistentFlags().Bool("no-color", false, "no color in the table (also when NO_COLOR is set; color is only ever used on a terminal)")
	root.AddCommand(
		newInspectCmd(),
		newBaselineCmd(),
		newVerifyCmd(),
		newAttestationCmd(),
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
	var ge *gate.Error
	if errors.As(err, &ge) && ge.Err == nil {
		return ge.Code // a verdict the report already told
	}
	fmt.Fprintln(stderr, "rollgate:", err)
	return gate.ExitCode(err)
}

// newUI is the terminal view of a command, honouring -q and --no-color.
func newUI(cmd *cobra.Command) *term.UI {
	quiet, _ := cmd.Flags().GetBool("quiet")
	noColor, _ := cmd.Flags().GetBool("no-color")
	return term.New(cmd.OutOrStdout(), cmd.ErrOrStderr(), quiet, noColor)
}
