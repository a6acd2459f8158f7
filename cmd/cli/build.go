package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
	"github.com/spf13/cobra"
)

// stateFlags are the flags of commands that use a cluster's state folder.
type stateFlags struct {
	specFlags
	stateDir string
}

func (f *stateFlags) register(cmd *cobra.Command) {
	f.specFlags.register(cmd)
	cmd.Flags().StringVar(&f.stateDir, "state-dir", "", "cluster state folder (keys, join credentials); default $KPROV_STATE_DIR/<cluster> or ~/.local/state/kprov/<cluster>")
}

// buildFlags are the flags of commands that plan artifacts without a live
// libvirt connection: they describe the host to plan for.
type buildFlags struct {
	stateFlags
	libvirtVersion string
}

func (f *buildFlags) register(cmd *cobra.Command) {
	f.stateFlags.register(cmd)
	cmd.Flags().StringVar(&f.libvirtVersion, "libvirt-version", "9.0.0", "libvirt version of the host to plan for (decides native NVMe or qemu:commandline)")
}

// host is the libvirt host the plan is made for. The accelerator "auto"
// is planned as kvm; `kprov up` probes the real host.
func (f *buildFlags) host(c *spec.Cluster) (plan.Host, error) {
	parts := strings.Split(f.libvirtVersion, ".")
	var n [3]uint32
	if len(parts) != 3 {
		return plan.Host{}, usageError{fmt.Errorf("--libvirt-version %q is not MAJOR.MINOR.MICRO, such as 9.0.0", f.libvirtVersion)}
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return plan.Host{}, usageError{fmt.Errorf("--libvirt-version %q is not MAJOR.MINOR.MICRO, such as 9.0.0", f.libvirtVersion)}
		}
		n[i] = uint32(v)
	}
	domainType := "kvm"
	if c.Hypervisor.Accelerator == "tcg" {
		domainType = "qemu"
	}
	return plan.Host{LibvirtVersion: plan.LibvirtVersion(n[0], n[1], n[2]), DomainType: domainType}, nil
}

// cluster is a loaded spec with its planned nodes and its secrets.
type cluster struct {
	dir     string // the state folder
	spec    *spec.Spec
	nodes   []plan.Node
	secrets *state.Secrets
	cleanup func()
}

// prepare loads the spec, plans its nodes and loads its secrets. With
// persist it creates the state folder's missing secrets; without, a missing
// state folder is stood in for by throwaway secrets, so a plan leaves
// nothing behind. Call cleanup when done.
func (f *stateFlags) prepare(env Env, path string, persist bool) (*cluster, error) {
	s, err := f.load(env, path)
	if err != nil {
		return nil, err
	}
	c := s.Cluster
	nodes, err := artifacts.Nodes(c)
	if err != nil {
		return nil, err
	}
	dir := f.stateDir
	if dir == "" {
		dir = state.DefaultDir(c.Name)
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	cl := &cluster{spec: s, nodes: nodes, cleanup: func() {}}
	if _, err := os.Stat(dir); err != nil && !persist {
		tmp, err := os.MkdirTemp("", "kprov-plan-")
		if err != nil {
			return nil, err
		}
		cl.cleanup = func() { os.RemoveAll(tmp) }
		dir = filepath.Join(tmp, c.Name)
	}
	cl.dir = dir
	if cl.secrets, err = state.Ensure(dir, c.Name, names); err != nil {
		cl.cleanup()
		return nil, fmt.Errorf("state folder: %w", err)
	}
	if key := c.SSH.PrivateKey; key != "" {
		// Relative paths in a spec start at the spec's folder.
		if !filepath.IsAbs(key) && !strings.HasPrefix(key, "~/") {
			key = filepath.Join(filepath.Dir(path), key)
		}
		if err := state.UseKey(cl.secrets, key); err != nil {
			cl.cleanup()
			return nil, err
		}
	}
	return cl, nil
}

// build prepares the cluster and renders every artifact for the host the
// flags describe.
func (f *buildFlags) build(env Env, path string, persist bool) (*spec.Spec, *artifacts.Set, error) {
	cl, err := f.prepare(env, path, persist)
	if err != nil {
		return nil, nil, err
	}
	defer cl.cleanup()
	h, err := f.host(cl.spec.Cluster)
	if err != nil {
		return nil, nil, err
	}
	set, err := artifacts.Build(cl.spec.Cluster, cl.nodes, h, cl.secrets)
	if err != nil {
		return nil, nil, err
	}
	return cl.spec, set, nil
}
