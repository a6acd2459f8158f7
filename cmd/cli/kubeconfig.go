package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/clientcmd/api"

	"github.com/kprov/kprov/provision/state"
)

func newKubeconfig(env Env) *cobra.Command {
	var f stateFlags
	f.errorsOnly = true // warnings are for validate, plan and up
	var merge bool
	var target string
	cmd := &cobra.Command{
		Use:   "kubeconfig FILE",
		Short: "Print the cluster's admin kubeconfig, or merge it into ~/.kube/config",
		Long: "kubeconfig prints the admin kubeconfig kprov fetched from the first control plane\n" +
			"(kept 0600 in the state folder). With --merge it adds the cluster, user and context\n" +
			"kprov-<cluster> to ~/.kube/config ($KUBECONFIG, --kubeconfig) and makes that context current.",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.load(env, args[0])
			if err != nil {
				return err
			}
			name := s.Cluster.Name
			dir := f.stateDir
			if dir == "" {
				dir = state.DefaultDir(name)
			}
			path := filepath.Join(dir, state.KubeconfigFile)
			data, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no kubeconfig for cluster %q yet (%s): kprov up fetches it once kubeadm init has run", name, path)
			}
			if err != nil {
				return err
			}
			if !merge {
				_, err := env.Stdout.Write(data)
				return err
			}
			if kc := env.Lookup("KUBECONFIG"); target == "" && kc != "" {
				// As kubectl config writes: the first file of the list
				// that exists, else the last one.
				target = (&clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kc)}).GetDefaultFilename()
			}
			if target == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return err
				}
				target = filepath.Join(home, ".kube", "config")
			}
			if err := mergeKubeconfig(data, target, "kprov-"+name); err != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "merged context %q into %s and made it current\n", "kprov-"+name, target)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&merge, "merge", false, "merge into a kubeconfig file instead of printing")
	cmd.Flags().StringVar(&target, "kubeconfig", "", "the file --merge writes (default: as kubectl, the first existing file of $KUBECONFIG, else ~/.kube/config)")
	return cmd
}

// mergeKubeconfig adds the admin config's first cluster, user and context
// to target under name, replacing entries of the same name, and keeps the
// file 0600.
func mergeKubeconfig(admin []byte, target, name string) error {
	in, err := clientcmd.Load(admin)
	if err != nil {
		return fmt.Errorf("admin kubeconfig: %w", err)
	}
	ctx, ok := in.Contexts[in.CurrentContext]
	if !ok {
		return fmt.Errorf("admin kubeconfig has no current context")
	}
	out, err := clientcmd.LoadFromFile(target)
	if errors.Is(err, fs.ErrNotExist) {
		out = api.NewConfig()
	} else if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	out.Clusters[name] = in.Clusters[ctx.Cluster]
	out.AuthInfos[name] = in.AuthInfos[ctx.AuthInfo]
	c := *ctx
	c.Cluster, c.AuthInfo = name, name
	out.Contexts[name] = &c
	out.CurrentContext = name
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	if err := clientcmd.WriteToFile(*out, target); err != nil {
		return err
	}
	return os.Chmod(target, 0o600)
}
