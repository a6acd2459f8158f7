package cli

import (
	"github.com/spf13/cobra"

	"github.com/kprov/kprov/internal/phase"
)

// registerSelection adds --only and --skip, which fill sel.
func registerSelection(cmd *cobra.Command, sel *phase.Selection) {
	cmd.Flags().StringSliceVar(&sel.Only, "only", nil, "run only these phases (names or prefixes, e.g. provision,bootstrap/prepare)")
	cmd.Flags().StringSliceVar(&sel.Skip, "skip", nil, "skip these phases (names or prefixes, e.g. kubeadm)")
}
