// Package nodelogs gathers what a node has to say when it misbehaves (its
// journals, its pods' logs, its containers, cloud-init's logs) into a
// folder of the machine kprov runs on, with the cluster's secrets
// redacted, as `kind export logs` does.
package nodelogs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kprov/kprov/bootstrap/remote"
)

// journalLines bounds each journal, so that a node that logged for months
// still fits in memory.
const journalLines = 200000

// gather runs on the node as root: it writes every log into a fresh
// folder, packs it, removes the folder and prints the archive's path.
// Each source may be missing (a node that never got kubelet or crictl):
// its file then holds why.
var gather = strings.Join([]string{
	"set -u",
	"d=$(mktemp -d /var/tmp/kprov-logs.XXXXXX)",
	fmt.Sprintf("j='journalctl --no-pager -o short-iso-precise -n %d'", journalLines),
	"$j -u kubelet > $d/kubelet.log 2>&1",
	"$j -u containerd > $d/containerd.log 2>&1",
	"$j -b > $d/journal.log 2>&1",
	"$j -k > $d/kernel.log 2>&1",
	"crictl ps -a > $d/crictl-ps.txt 2>&1 || true",
	"crictl pods > $d/crictl-pods.txt 2>&1 || true",
	"for f in /var/log/cloud-init.log /var/log/cloud-init-output.log; do [ -f $f ] && cp $f $d/; done",
	"[ -d /var/log/pods ] && cp -rL /var/log/pods $d/pods 2>/dev/null",
	"tar -C $d -czf $d.tgz . && rm -rf $d && chmod 0600 $d.tgz && echo $d.tgz",
}, "\n")

// Collect gathers n's logs into dir (made 0700; files 0600), each file's
// text passed through redact, and returns the files written, relative to
// dir. The archive it made on the node is removed.
func Collect(ctx context.Context, n remote.Node, dir string, redact func(string) string) ([]string, error) {
	out, err := n.Run(ctx, "sh -c "+remote.Quote(gather))
	if err != nil {
		return nil, fmt.Errorf("gather the logs on %s: %w", n.Name(), err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	archive := lines[len(lines)-1]
	if !strings.HasPrefix(archive, "/var/tmp/kprov-logs.") || !strings.HasSuffix(archive, ".tgz") {
		return nil, fmt.Errorf("gather the logs on %s: no archive named in its output:\n%s", n.Name(), out)
	}
	data, err := n.Download(ctx, archive)
	if _, rmErr := n.Run(ctx, "rm -f "+remote.Quote(archive)); err == nil && rmErr != nil {
		err = rmErr
	}
	if err != nil {
		return nil, fmt.Errorf("fetch the logs of %s: %w", n.Name(), err)
	}
	return unpack(data, dir, redact)
}

// unpack writes the regular files of a tar.gz under dir, refusing any
// name that would leave it.
func unpack(data []byte, dir string, redact func(string) string) ([]string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("logs archive: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var files []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return files, fmt.Errorf("logs archive: %w", err)
		}
		name := filepath.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || name == "." {
			continue
		}
		if !filepath.IsLocal(name) {
			return files, fmt.Errorf("logs archive: %q is outside its folder", h.Name)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return files, fmt.Errorf("logs archive: %s: %w", name, err)
		}
		if err := Write(filepath.Join(dir, name), []byte(redact(string(b)))); err != nil {
			return files, err
		}
		files = append(files, name)
	}
	sort.Strings(files)
	return files, nil
}

// Write writes data to path 0600, making its folders 0700.
func Write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
