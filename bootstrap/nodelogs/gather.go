package nodelogs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/kprov/kprov/bootstrap/remote"
)

// Gather is a gathering of several nodes' logs into Out/NODE/.
type Gather struct {
	Out string
	// Redact hides the cluster's secrets.
	Redact func(string) string
	// NodeLog is where kprov's own log of a node is ("" for none);
	// Console where its serial console log is, when the hypervisor is
	// local ("" otherwise).
	NodeLog, Console func(node string) string
	Parallel         int
	// Log takes one line per node.
	Log io.Writer
}

// Run gathers every node's logs, each node on its own: a node that cannot
// be reached gets Out/NODE/error.txt and is named in failed.
func (g Gather) Run(ctx context.Context, nodes []remote.Node) (failed []string) {
	var mu sync.Mutex
	remote.Each(ctx, nodes, g.Parallel, func(ctx context.Context, n remote.Node) error {
		dir := filepath.Join(g.Out, n.Name())
		files, err := Collect(ctx, n, dir, g.Redact)
		if err != nil {
			Write(filepath.Join(dir, "error.txt"), []byte(g.Redact(err.Error())+"\n"))
		}
		// What kprov ran there (already redacted) and what its console
		// showed: the most useful when the node did not answer.
		for name, path := range map[string]string{"kprov.log": g.NodeLog(n.Name()), "console.log": g.Console(n.Name())} {
			if path == "" {
				continue
			}
			if b, rerr := os.ReadFile(path); rerr == nil {
				Write(filepath.Join(dir, name), []byte(g.Redact(string(b))))
				files = append(files, name)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed = append(failed, n.Name())
			fmt.Fprintf(g.Log, "%s: %v\n", n.Name(), g.Redact(err.Error()))
		}
		fmt.Fprintf(g.Log, "%s: %d files\n", n.Name(), len(files))
		return nil
	})
	return failed
}
