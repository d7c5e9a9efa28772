package main

import "github.com/spf13/cobra"

// newSinkholeCmd is a placeholder until the sinkhole lands.
func newSinkholeCmd() *cobra.Command {
	return &cobra.Command{Use: "sinkhole", Hidden: true}
}
