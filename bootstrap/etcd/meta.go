// Package etcd works on kubeadm's stacked etcd from a control plane: it
// takes a snapshot and restores one on every control plane, the way the
// Kubernetes documentation's "Backing up an etcd cluster" describes, and
// removes the member of a control plane that leaves, never below quorum.
// It runs etcd's own tools from the etcd image the node
// already has (etcdctl and etcdutl, through crictl and ctr), so the tool
// always matches the server's version and the node needs nothing more.
package etcd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The files of a backup folder.
const (
	SnapshotFile = "etcd.db"
	MetaFile     = "backup.json"
)

// Meta is what a backup records next to its snapshot: what a restore
// checks before it touches a node, and what a person reads to choose one.
type Meta struct {
	Cluster           string    `json:"cluster"`
	Node              string    `json:"node"` // the control plane it was taken on
	TakenAt           time.Time `json:"takenAt"`
	KubernetesVersion string    `json:"kubernetesVersion"`
	EtcdImage         string    `json:"etcdImage"`
	// From etcd's snapshot status.
	Revision int64  `json:"revision"`
	Hash     uint64 `json:"hash"`
	Keys     int64  `json:"keys"`
	// The snapshot file's size and sha256.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// CASHA256 is the sha256 of the cluster CA certificate: a snapshot
	// holds objects (service account tokens, certificates) that only the
	// same CA makes sense of, so a restore refuses another cluster's.
	CASHA256 string   `json:"caSha256"`
	Members  []Member `json:"members"`
}

// Sum is the hex sha256 of b.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Write stores snapshot and m in dir (made 0700; files 0600), the
// snapshot first and the metadata last, so a folder with a backup.json
// always holds a whole backup. A folder that already holds one is refused.
func Write(dir string, snapshot []byte, m Meta) error {
	if _, err := os.Stat(filepath.Join(dir, MetaFile)); err == nil {
		return fmt.Errorf("%s already holds a backup: name another folder", dir)
	}
	m.Size, m.SHA256 = int64(len(snapshot)), Sum(snapshot)
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, SnapshotFile), snapshot); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, MetaFile), append(js, '\n'))
}

// writeFile writes data to path 0600 through a temporary name.
func writeFile(path string, data []byte) error {
	tmp := path + ".part"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ChecksumError is a snapshot whose content is not what its backup.json
// recorded: it was cut short, changed or swapped.
type ChecksumError struct {
	Path       string
	Want, Got  string
	Size, Have int64
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: sha256 %s (%d bytes), but backup.json records %s (%d bytes): the snapshot was changed or cut short; use another backup",
		e.Path, e.Got, e.Have, e.Want, e.Size)
}

// Load reads the backup in dir and checks its snapshot against the
// recorded size and sha256. dir may also name the snapshot or backup.json
// inside it.
func Load(dir string) (Meta, []byte, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	var m Meta
	js, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil, fmt.Errorf("%s is not a kprov backup (no %s): give the folder kprov backup wrote", dir, MetaFile)
	}
	if err != nil {
		return m, nil, err
	}
	if err := json.Unmarshal(js, &m); err != nil {
		return m, nil, fmt.Errorf("%s: %w", filepath.Join(dir, MetaFile), err)
	}
	if m.SHA256 == "" || m.Cluster == "" || len(m.Members) == 0 {
		return m, nil, fmt.Errorf("%s: cluster, sha256 or members missing: not written by kprov backup", filepath.Join(dir, MetaFile))
	}
	path := filepath.Join(dir, SnapshotFile)
	snap, err := os.ReadFile(path)
	if err != nil {
		return m, nil, err
	}
	if got := Sum(snap); got != m.SHA256 || int64(len(snap)) != m.Size {
		return m, nil, &ChecksumError{Path: path, Want: m.SHA256, Got: got, Size: m.Size, Have: int64(len(snap))}
	}
	return m, snap, nil
}
