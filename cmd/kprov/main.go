// Command kprov turns one HCL file into a Kubernetes cluster on KVM hosts.
package main

import (
	"os"

	"github.com/kprov/kprov/cmd/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], cli.OS())) }
