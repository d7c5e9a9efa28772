package main

import "github.com/spf13/cobra"

// newSandboxCmd is a placeholder until the sandbox package lands.
func newSandboxCmd() *cobra.Command {
	return &cobra.Command{Use: "sandbox", Short: "Run an installer in the Docker sandbox"}
}
