package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

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
	var tunnelPort int
	cmd := &cobra.Command{
		Use:   "kubeconfig FILE",
		Short: "Print the cluster's admin kubeconfig, or merge it into ~/.kube/config",
		Long: "kubeconfig prints the admin kubeconfig kprov fetched from the first control plane\n" +
			"(kept 0600 in the state folder). With --merge it adds the cluster, user and context\n" +
			"kprov-<cluster> to ~/.kube/config ($KUBECONFIG, --kubeconfig) and makes that context current.\n" +
			"With --tunnel-port N it is the kubeconfig for `kprov tunnel FILE --port N` instead: server\n" +
			"https://127.0.0.1:N, the certificate still checked for the API server's own name.",
		Example: "  kprov kubeconfig cluster.hcl > admin.conf\n  kprov kubeconfig cluster.hcl --merge\n" +
			"  kprov kubeconfig cluster.hcl --tunnel-port 16443 --merge",
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
			if tunnelPort != 0 {
				if tunnelPort < 0 || tunnelPort > 65535 {
					return usageError{fmt.Errorf("--tunnel-port %d is not a TCP port (1-65535)", tunnelPort)}
				}
				if data, _, err = tunnelKubeconfig(data, net.JoinHostPort("127.0.0.1", strconv.Itoa(tunnelPort))); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
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
	cmd.Flags().IntVar(&tunnelPort, "tunnel-port", 0, "the kubeconfig for kprov tunnel --port N: server https://127.0.0.1:N, tls-server-name the API server's")
	return cmd
}

// tunnelKubeconfig is the admin kubeconfig with its current context's
// cluster reached at local (HOST:PORT of a kprov tunnel): server
// https://LOCAL, and tls-server-name the original server's host (unless it
// had one), so TLS still checks the name the API server's certificate was
// made for. remote is the original server's HOST:PORT, which the tunnel
// forwards to from the node.
func tunnelKubeconfig(admin []byte, local string) (out []byte, remote string, err error) {
	cfg, err := clientcmd.Load(admin)
	if err != nil {
		return nil, "", fmt.Errorf("admin kubeconfig: %w", err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return nil, "", fmt.Errorf("admin kubeconfig has no current context")
	}
	c, ok := cfg.Clusters[ctx.Cluster]
	if !ok {
		return nil, "", fmt.Errorf("admin kubeconfig has no cluster %q", ctx.Cluster)
	}
	u, err := url.Parse(c.Server)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, "", fmt.Errorf("admin kubeconfig: server %q is not an https URL", c.Server)
	}
	remote = u.Host
	if u.Port() == "" {
		remote = net.JoinHostPort(u.Hostname(), "443")
	}
	if c.TLSServerName == "" {
		c.TLSServerName = u.Hostname()
	}
	u.Host = local
	c.Server = u.String()
	if out, err = clientcmd.Write(*cfg); err != nil {
		return nil, "", err
	}
	return out, remote, nil
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
