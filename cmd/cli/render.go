package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/phases"
	"github.com/kprov/kprov/internal/artifacts"
)

// renderMarker marks a folder written by kprov render, which render may
// replace; any other non-empty folder is refused.
const renderMarker = ".kprov-render"

func newRender(env Env) *cobra.Command {
	var f buildFlags
	var out string
	var withAddons, locked bool
	cmd := &cobra.Command{
		Use:   "render FILE --out DIR",
		Short: "Write every artifact kprov would create into a folder",
		Long: "render writes the libvirt definitions, cloud-init seeds, kubeadm configurations and\n" +
			"node preparation files of the spec into DIR. The same spec and state folder give\n" +
			"byte-identical files. Files holding secrets are written 0600. With --addons it also\n" +
			"fetches the Calico, load balancer and ingress manifests (checked against, or recorded\n" +
			"in, kprov.lock.hcl) and writes the objects kprov applies, in order, under addons/.",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError{errors.New("render needs --out DIR")}
			}
			s, set, err := f.build(env, args[0], true)
			if err != nil {
				return err
			}
			if withAddons {
				steps, err := phases.BuildAddons(cmd.Context(), s.Cluster, args[0], locked, func(format string, args ...any) {
					fmt.Fprintf(env.Stderr, format+"\n", args...)
				})
				if err != nil {
					return err
				}
				files, err := addonFiles(steps)
				if err != nil {
					return err
				}
				set.Files = append(set.Files, files...)
			}
			if err := writeSet(out, set); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "wrote %d files for %s to %s\n", len(set.Files), plural(len(set.Nodes), "node"), out)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "folder to write into (created; replaced if an earlier render wrote it)")
	cmd.Flags().BoolVar(&withAddons, "addons", false, "also fetch the manifests and write the addon objects (addons/)")
	cmd.Flags().BoolVar(&locked, "locked", false, "with --addons: refuse a manifest whose sha256 is not the lock's")
	return cmd
}

// writeSet writes the set into a fresh sibling folder, then swaps it in, so
// out is never left half-written.
func writeSet(out string, set *artifacts.Set) error {
	out = filepath.Clean(out)
	if err := checkReplaceable(out); err != nil {
		return err
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o700); err != nil {
		return err
	}
	for _, f := range set.Files {
		p := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		}
		if err := os.WriteFile(p, f.Data, mode); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, renderMarker), []byte("written by kprov render; safe to delete with this folder\n"), 0o644); err != nil {
		return err
	}
	old := tmp + ".old"
	if _, err := os.Stat(out); err == nil {
		if err := os.Rename(out, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		_ = os.Rename(old, out)
		return err
	}
	return os.RemoveAll(old)
}

// checkReplaceable refuses to replace a folder kprov did not write.
func checkReplaceable(out string) error {
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(out, renderMarker)); err == nil {
		return nil
	}
	var names []string
	for i, e := range entries {
		if i == 3 {
			names = append(names, "...")
			break
		}
		names = append(names, e.Name())
	}
	return fmt.Errorf("--out %s is not empty (%s) and was not written by kprov render; choose an empty or new folder", out, strings.Join(names, ", "))
}

// addonFiles renders the steps as files addons/N-STEP.yaml, in apply
// order.
func addonFiles(steps []addons.Step) ([]artifacts.File, error) {
	var files []artifacts.File
	for i, s := range steps {
		data, err := addons.Encode(s.Objects)
		if err != nil {
			return nil, err
		}
		files = append(files, artifacts.File{Path: fmt.Sprintf("addons/%d-%s.yaml", i+1, s.Name), Data: data})
	}
	return files, nil
}
