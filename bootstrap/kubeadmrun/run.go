// Package kubeadmrun runs kubeadm on the nodes with the configurations the
// kubeadm package plans: init on the first control plane, join on the
// others. Nodes already initialised or joined are left alone.
package kubeadmrun

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/provision/state"
)

// Paths on the nodes.
const (
	ConfigDir   = "/etc/kprov"
	InitConfig  = ConfigDir + "/kubeadm-init.yaml"
	JoinConfig  = ConfigDir + "/kubeadm-join.yaml"
	AdminConf   = "/etc/kubernetes/admin.conf"
	KubeletConf = "/etc/kubernetes/kubelet.conf"
	// InitDone and JoinDone mark a kubeadm init or join that finished:
	// kubeadm writes its kubeconfigs long before it succeeds.
	InitDone = ConfigDir + "/kubeadm-init.done"
	JoinDone = ConfigDir + "/kubeadm-join.done"
	// PatchesDir holds the spec's kubeadm patches (bootstrap/kubeadm's
	// PatchesDir, which the configurations name).
	PatchesDir = ConfigDir + "/kubeadm-patches"
	CACert     = "/etc/kubernetes/pki/ca.crt"
	CAKey      = "/etc/kubernetes/pki/ca.key"
)

// exists reports whether path exists on h.
func exists(ctx context.Context, n remote.Node, path string) (bool, error) {
	out, err := n.Run(ctx, "test -e "+remote.Quote(path)+" && echo yes || echo no")
	return strings.TrimSpace(out) == "yes", err
}

// PlaceCA puts the cluster CA kprov generated where kubeadm init finds and
// keeps it, so the CA hash kprov pins for joining nodes is the real one.
func PlaceCA(ctx context.Context, n remote.Node, s *state.Secrets) (bool, error) {
	have, err := n.Run(ctx, "cat "+CACert+" 2>/dev/null || true")
	if err != nil {
		return false, err
	}
	if have == string(s.CACert) {
		return false, nil
	}
	if have != "" {
		return false, fmt.Errorf("node %s already has another cluster CA in %s; it belongs to another cluster: rebuild the node (kprov up --replace)", n.Name(), CACert)
	}
	if _, err := n.Run(ctx, "mkdir -p /etc/kubernetes/pki"); err != nil {
		return false, err
	}
	if err := n.Upload(ctx, CACert, s.CACert, 0o644); err != nil {
		return false, err
	}
	return true, n.Upload(ctx, CAKey, s.CAKey, 0o600)
}

// upload writes a kubeadm configuration (it holds join credentials) 0600
// into ConfigDir.
func upload(ctx context.Context, n remote.Node, path string, cfg []byte) error {
	if _, err := n.Run(ctx, "mkdir -p -m 0700 "+ConfigDir); err != nil {
		return err
	}
	return n.Upload(ctx, path, cfg, 0o600)
}

// placePatches makes PatchesDir hold exactly patches (file name to
// content), right before the kubeadm run that reads them; nothing without
// patches.
func placePatches(ctx context.Context, n remote.Node, patches map[string]string) error {
	if len(patches) == 0 {
		return nil
	}
	if _, err := n.Run(ctx, "rm -rf "+PatchesDir+" && mkdir -p -m 0700 "+PatchesDir); err != nil {
		return err
	}
	names := make([]string, 0, len(patches))
	for name := range patches {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
			return fmt.Errorf("kubeadm patch name %q is not a file name", name)
		}
		if err := n.Upload(ctx, PatchesDir+"/"+name, []byte(patches[name]), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Init runs kubeadm init on the first control plane unless it already ran
// (admin.conf exists), with the spec's kubeadm patches in PatchesDir. cfg
// holds the bootstrap token and certificate key: it is uploaded 0600 and
// never logged.
func Init(ctx context.Context, n remote.Node, cfg []byte, patches map[string]string) (bool, error) {
	done, err := exists(ctx, n, InitDone)
	if err != nil || done {
		return false, err
	}
	if err := upload(ctx, n, InitConfig, cfg); err != nil {
		return false, err
	}
	if err := placePatches(ctx, n, patches); err != nil {
		return false, err
	}
	if _, err = n.Run(ctx, "kubeadm init --config "+InitConfig+" --upload-certs"); err != nil {
		return false, err
	}
	_, err = n.Run(ctx, "touch "+InitDone)
	return err == nil, err
}

// Leftovers undoes what a kubeadm init or join that failed or was
// interrupted left on h (kubeadm reset -f), so that the next run starts
// clean; done is the marker of the run (InitDone or JoinDone). It reports
// whether there was anything to undo.
func Leftovers(ctx context.Context, n remote.Node, done string) (bool, error) {
	out, err := n.Run(ctx, "if [ -e "+remote.Quote(done)+" ]; then echo done; "+
		"elif [ -e "+AdminConf+" ] || [ -e "+KubeletConf+" ] || [ -n \"$(ls -A /etc/kubernetes/manifests 2>/dev/null)\" ]; then echo leftovers; fi")
	if err != nil || strings.TrimSpace(out) != "leftovers" {
		return false, err
	}
	if _, err := n.Run(ctx, "kubeadm reset -f"); err != nil {
		return false, fmt.Errorf("undo an unfinished kubeadm run: %w", err)
	}
	return true, nil
}

// DryRun has kubeadm check cfg on the node without changing it.
func DryRun(ctx context.Context, n remote.Node, cfg []byte) (string, error) {
	if err := upload(ctx, n, InitConfig, cfg); err != nil {
		return "", err
	}
	return n.Run(ctx, "kubeadm init --dry-run --skip-phases=preflight --config "+InitConfig)
}

// EnsureToken makes sure the bootstrap token kprov joins nodes with exists
// on the cluster (kubeadm's tokens expire after their TTL).
func EnsureToken(ctx context.Context, n remote.Node, token string) (bool, error) {
	id, _, ok := strings.Cut(token, ".")
	if !ok {
		return false, fmt.Errorf("bootstrap token in the state folder is malformed")
	}
	// The text table's first column is the token, in every kubeadm
	// release. A list that fails is an error: the API server is not
	// answering, and creating a token would fail the same way.
	out, err := retrySlow(ctx, n, "kubeadm token list --kubeconfig "+AdminConf)
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), id+".") {
			return false, nil
		}
	}
	_, err = retrySlow(ctx, n, "kubeadm token create --kubeconfig "+AdminConf+" --ttl 24h "+remote.Quote(token))
	return err == nil, err
}

// Join runs kubeadm join unless the node already joined (kubelet.conf),
// with the spec's kubeadm patches in PatchesDir.
func Join(ctx context.Context, n remote.Node, cfg []byte, patches map[string]string) (bool, error) {
	done, err := exists(ctx, n, JoinDone)
	if err != nil || done {
		return false, err
	}
	if err := upload(ctx, n, JoinConfig, cfg); err != nil {
		return false, err
	}
	if err := placePatches(ctx, n, patches); err != nil {
		return false, err
	}
	if _, err = n.Run(ctx, "kubeadm join --config "+JoinConfig); err != nil {
		return false, err
	}
	_, err = n.Run(ctx, "touch "+JoinDone)
	return err == nil, err
}
