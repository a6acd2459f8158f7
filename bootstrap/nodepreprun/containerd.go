package nodepreprun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	pathpkg "path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/registry"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/provision/spec"
)

// ContainerdConfig is containerd's configuration file.
const ContainerdConfig = registry.ConfigFile

// containerdFiles renders c's containerd configuration: the pause image of
// its Kubernetes version, its registry mirrors, their CA files read from
// the spec's folder unless absolute.
func containerdFiles(c *spec.Cluster, o Options) ([]registry.File, error) {
	pause, err := images.Pause(c)
	if err != nil {
		return nil, fmt.Errorf("containerd's sandbox image: %w", err)
	}
	upstreams := registry.Upstreams(c, append([]string{pause}, o.Images...))
	cas := map[string][]byte{}
	for _, u := range upstreams {
		for _, e := range u.Endpoints {
			if _, done := cas[e.CAFile]; e.CAFile == "" || done {
				continue
			}
			p := e.CAFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(o.SpecDir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("registries: read ca_file of the %s mirror: %w (relative paths start at the spec's folder)", u.Name, err)
			}
			cas[e.CAFile] = b
		}
	}
	return registry.Containerd(registry.ContainerdInput{Upstreams: upstreams, SandboxImage: pause, CAs: cas})
}

// listMark separates the two parts of lookCommand's output.
const listMark = "--- kprov: files of kprov's hosts folders ---"

// lookCommand prints the sha256 of each planned path that exists, then
// every file of the hosts folders kprov wrote (those whose hosts.toml
// starts with registry.Header).
func lookCommand(files []registry.File) string {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = remote.Quote(f.Path)
	}
	return "sha256sum -- " + strings.Join(paths, " ") + " 2>/dev/null; echo " + remote.Quote(listMark) + "; " +
		"for f in " + remote.Quote(registry.CertsDir) + "/*/hosts.toml; do " +
		"[ -f \"$f\" ] && head -n 1 \"$f\" | grep -qxF -- " + remote.Quote(registry.Header) + " || continue; " +
		"for g in \"${f%/hosts.toml}\"/*; do echo \"$g\"; done; done; true"
}

// nodeFiles is what lookCommand found: sha256 by path, and the files of
// kprov's hosts folders.
type nodeFiles struct {
	sums  map[string]string
	owned []string
}

func parseLook(out string) nodeFiles {
	n := nodeFiles{sums: map[string]string{}}
	sums, owned, _ := strings.Cut(out, listMark)
	for _, l := range strings.Split(sums, "\n") {
		if sum, p, ok := strings.Cut(strings.TrimSpace(l), "  "); ok && len(sum) == 64 {
			n.sums[p] = sum
		}
	}
	for _, l := range strings.Split(owned, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, registry.CertsDir+"/") {
			n.owned = append(n.owned, l)
		}
	}
	return n
}

// containerd writes the planned containerd files that differ on the node,
// removes what kprov wrote earlier into certs.d and no longer plans,
// restarts containerd when anything changed, and keeps it enabled and
// running.
func containerd(ctx context.Context, n remote.Node, want []registry.File, r *Result) error {
	out, err := n.Run(ctx, lookCommand(want))
	if err != nil {
		return err
	}
	have := parseLook(out)
	var write []registry.File
	dirs := map[string]bool{}
	planned := map[string]bool{}
	for _, f := range want {
		planned[f.Path] = true
		planned[pathpkg.Dir(f.Path)] = true
		sum := sha256.Sum256(f.Content)
		if have.sums[f.Path] != hex.EncodeToString(sum[:]) {
			write = append(write, f)
			dirs[pathpkg.Dir(f.Path)] = true
		}
	}
	// Stale: a kprov hosts folder no longer planned goes whole; in a
	// planned folder, a file no longer planned (a renamed CA) goes.
	stale := map[string]bool{}
	for _, p := range have.owned {
		dir := pathpkg.Dir(p)
		if pathpkg.Dir(dir) != registry.CertsDir {
			continue
		}
		switch {
		case !planned[dir]:
			stale[dir] = true
		case !planned[p]:
			stale[p] = true
		}
	}
	changed := false
	if len(dirs) > 0 {
		quoted := make([]string, 0, len(dirs))
		for d := range dirs {
			quoted = append(quoted, remote.Quote(d))
		}
		sort.Strings(quoted)
		if _, err := n.Run(ctx, "mkdir -p -- "+strings.Join(quoted, " ")); err != nil {
			return err
		}
	}
	for _, f := range write {
		if err := n.Upload(ctx, f.Path, f.Content, f.Mode); err != nil {
			return err
		}
		r.Changed = append(r.Changed, "containerd: wrote "+f.Path)
		changed = true
	}
	if len(stale) > 0 {
		gone := make([]string, 0, len(stale))
		for p := range stale {
			gone = append(gone, p)
		}
		sort.Strings(gone)
		quoted := make([]string, len(gone))
		for i, p := range gone {
			quoted[i] = remote.Quote(p)
		}
		if _, err := n.Run(ctx, "rm -rf -- "+strings.Join(quoted, " ")); err != nil {
			return err
		}
		for _, p := range gone {
			r.Changed = append(r.Changed, "containerd: removed "+p+" (no longer in the spec)")
		}
		changed = true
	}
	if changed {
		if _, err := n.Run(ctx, "systemctl restart containerd"); err != nil {
			return err
		}
		r.Changed = append(r.Changed, "containerd: restarted")
	}
	state, err := n.Run(ctx, "systemctl is-enabled containerd; systemctl is-active containerd; true")
	if err != nil {
		return err
	}
	if strings.Contains(state, "disabled") || strings.Contains(state, "inactive") || strings.Contains(state, "failed") {
		if _, err := n.Run(ctx, "systemctl enable --now containerd"); err != nil {
			return err
		}
		r.Changed = append(r.Changed, "containerd enabled and started")
	}
	return nil
}
