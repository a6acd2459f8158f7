package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kprov/kprov/bootstrap/remote"
)

// The files kubeadm gives a control plane's etcd.
const (
	ManifestPath = "/etc/kubernetes/manifests/etcd.yaml"
	pki          = "/etc/kubernetes/pki/etcd"
)

// etcdctl is etcdctl inside the running etcd container $id, as the
// healthcheck client kubeadm made.
const etcdctl = `crictl exec "$id" etcdctl --endpoints=https://127.0.0.1:2379 --cacert=` + pki + `/ca.crt --cert=` +
	pki + `/healthcheck-client.crt --key=` + pki + `/healthcheck-client.key`

// findEtcd sets id to the running etcd container, or fails saying so.
const findEtcd = `id=$(crictl ps --name '^etcd$' --state running -q | head -n 1)
[ -n "$id" ] || { echo "no etcd container runs on this node (crictl ps --name etcd): is it a control plane, and is its etcd up?"; exit 1; }`

// statusMark precedes the snapshot's status in saveScript's output.
const statusMark = "--- kprov: snapshot status ---"

// saveScript saves a snapshot to file (inside etcd's data folder, which the
// container shares with the node), prints the members, then the
// snapshot's status: etcdutl's where the image has it (etcd >= 3.5),
// etcdctl's before.
func saveScript(file string) string {
	f := remote.Quote(file)
	return strings.Join([]string{
		"set -eu",
		findEtcd,
		"rm -f " + f,
		etcdctl + " snapshot save " + f,
		"chmod 0600 " + f,
		etcdctl + " member list -w json",
		"echo " + remote.Quote(statusMark),
		`if crictl exec "$id" etcdutl version >/dev/null 2>&1; then crictl exec "$id" etcdutl snapshot status ` + f + ` -w json; else ` +
			etcdctl + " snapshot status " + f + " -w json; fi",
		"sha256sum " + f,
	}, "\n")
}

// Save takes a snapshot of etcd on the control plane n and fetches it.
// The returned Meta has the snapshot's status, etcd's members and image
// filled in; Write adds the size and sha256.
func Save(ctx context.Context, n remote.Node) (Meta, []byte, error) {
	m := Meta{Node: n.Name()}
	manifest, err := n.Run(ctx, "cat "+ManifestPath)
	if err != nil {
		return m, nil, fmt.Errorf("read etcd's manifest on %s: %w", n.Name(), err)
	}
	self, err := ParseManifest(n.Name(), []byte(manifest))
	if err != nil {
		return m, nil, err
	}
	m.EtcdImage = self.Image
	file := strings.TrimRight(self.DataDir, "/") + "/kprov-snapshot.db"
	out, err := n.Run(ctx, "sh -c "+remote.Quote(saveScript(file)))
	if err != nil {
		return m, nil, fmt.Errorf("etcd snapshot on %s: %w", n.Name(), err)
	}
	remoteSum, err := parseSave(out, &m, self)
	if err != nil {
		return m, nil, fmt.Errorf("etcd snapshot on %s: %w", n.Name(), err)
	}
	snap, err := n.Download(ctx, file)
	if _, rmErr := n.Run(ctx, "rm -f "+remote.Quote(file)); err == nil && rmErr != nil {
		err = rmErr
	}
	if err != nil {
		return m, nil, fmt.Errorf("fetch the etcd snapshot from %s: %w", n.Name(), err)
	}
	if got := Sum(snap); got != remoteSum {
		return m, nil, fmt.Errorf("the etcd snapshot fetched from %s has sha256 %s, the node's has %s: take the backup again", n.Name(), got, remoteSum)
	}
	return m, snap, nil
}

// parseSave reads saveScript's output: the member list, the snapshot's
// status after statusMark, and sha256sum's last line.
func parseSave(out string, m *Meta, self Member) (sum string, err error) {
	before, after, ok := strings.Cut(out, statusMark)
	if !ok {
		return "", fmt.Errorf("no snapshot status in the output:\n%s", out)
	}
	var list struct {
		Members []struct {
			Name     string   `json:"name"`
			PeerURLs []string `json:"peerURLs"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(lastJSON(before, "members")), &list); err != nil || len(list.Members) == 0 {
		return "", fmt.Errorf("etcd's member list: %v:\n%s", err, before)
	}
	for _, e := range list.Members {
		mem := Member{Name: e.Name, PeerURL: strings.Join(e.PeerURLs, ",")}
		if e.Name == self.Name {
			mem = self
		}
		m.Members = append(m.Members, mem)
	}
	var status struct {
		Hash     uint64 `json:"hash"`
		Revision int64  `json:"revision"`
		TotalKey int64  `json:"totalKey"`
	}
	if err := json.Unmarshal([]byte(lastJSON(after, "revision")), &status); err != nil || status.Revision == 0 {
		return "", fmt.Errorf("the snapshot's status: %v:\n%s", err, after)
	}
	m.Hash, m.Revision, m.Keys = status.Hash, status.Revision, status.TotalKey
	lines := strings.Split(strings.TrimSpace(after), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) != 2 || len(f[0]) != 64 {
		return "", fmt.Errorf("no sha256sum of the snapshot in the output:\n%s", after)
	}
	return f[0], nil
}

// lastJSON is the last line of s that is a JSON object with key: etcd's
// tools print their answer on one line, among log lines that are JSON too.
func lastJSON(s, key string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") && strings.Contains(l, `"`+key+`"`) {
			return l
		}
	}
	return ""
}
