package etcd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"
)

// RestoreDir holds, on each control plane, what a restore needs between
// its steps: the snapshot, the static pod manifests it moved away, the
// restored data, and etcd's data from before (kept, never removed).
const RestoreDir = "/var/lib/kprov/restore"

// staticPods are the control plane's static pods a restore stops: etcd
// and everything that reads it or acts on what it read.
var staticPods = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// Restore brings every control plane's etcd back to one snapshot, as the
// Kubernetes documentation describes for kubeadm's stacked etcd: all
// control planes stopped, each member's data restored from the same
// snapshot as a new cluster of the same members, all started, then the
// kubelets restarted so that nothing keeps what it read before. Each step
// is safe to repeat: a restore cut short is finished by running it again
// with the same backup.
type Restore struct {
	Meta     Meta
	Snapshot []byte
	Log      io.Writer
	// Wait bounds each wait on a node: the old pods gone, the API server
	// ready.
	Wait time.Duration
	// Dir is the nodes' folder for the restore; default RestoreDir.
	Dir string
}

func (r *Restore) dir() string {
	if r.Dir == "" {
		return RestoreDir
	}
	return r.Dir
}

func (r *Restore) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

func (r *Restore) snapshotPath() string { return r.dir() + "/" + r.Meta.SHA256[:16] + ".db" }
func (r *Restore) marker() string       { return r.dir() + "/restored-" + r.Meta.SHA256[:16] }
func (r *Restore) seconds() int         { return max(int(r.Wait/time.Second), 1) }

// Run restores on the control planes cps, then restarts the kubelet of
// every node of others; a worker that cannot be reached is reported, not
// fatal: its kubelet catches up when it next restarts.
func (r *Restore) Run(ctx context.Context, cps, others []remote.Node) error {
	if len(cps) == 0 {
		return fmt.Errorf("no control plane to restore etcd on")
	}
	members := make([]Member, len(cps))
	err := remote.Each(ctx, cps, 0, func(ctx context.Context, n remote.Node) error {
		m, err := r.member(ctx, n)
		for i := range cps {
			if cps[i].Name() == n.Name() {
				members[i] = m
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	cluster := InitialCluster(members)
	steps := []struct {
		what string
		run  func(context.Context, remote.Node, Member) error
	}{
		{"snapshot uploaded", r.upload},
		{"etcd, kube-apiserver, kube-controller-manager and kube-scheduler stopped", r.stop},
		{"etcd's data restored", func(ctx context.Context, n remote.Node, m Member) error { return r.restore(ctx, n, m, cluster) }},
		{"control plane started", r.start},
		{"kube-apiserver ready", r.ready},
	}
	for _, s := range steps {
		err := remote.Each(ctx, cps, 0, func(ctx context.Context, n remote.Node) error {
			for i := range cps {
				if cps[i].Name() == n.Name() {
					return s.run(ctx, n, members[i])
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%w\nThe restore stopped before it finished: run kprov restore again with the same backup to finish it (each step is safe to repeat); the static pod manifests it moved are in %s/manifests on each control plane", err, r.dir())
		}
		r.logf("%s: %s", names(cps), s.what)
	}
	all := append(append([]remote.Node{}, cps...), others...)
	if err := remote.Each(ctx, all, 0, func(ctx context.Context, n remote.Node) error {
		_, err := n.Run(ctx, "systemctl restart kubelet")
		return err
	}); err != nil {
		r.logf("WARNING: restart the kubelet of these nodes yourself (systemctl restart kubelet): %v", err)
	} else {
		r.logf("%s: kubelet restarted", names(all))
	}
	return remote.Each(ctx, cps, 0, func(ctx context.Context, n remote.Node) error {
		d := r.dir()
		_, err := n.Run(ctx, "rm -rf "+remote.Quote(d+"/data")+" "+remote.Quote(r.snapshotPath())+" "+remote.Quote(r.marker())+
			" && rmdir "+remote.Quote(d+"/manifests")+" 2>/dev/null; true")
		return err
	})
}

func names(nodes []remote.Node) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = n.Name()
	}
	return strings.Join(s, ", ")
}

// member reads n's etcd manifest: in place, or where an earlier run of
// the restore moved it.
func (r *Restore) member(ctx context.Context, n remote.Node) (Member, error) {
	moved := r.dir() + "/manifests/etcd.yaml"
	out, err := n.Run(ctx, "cat "+ManifestPath+" 2>/dev/null || cat "+moved)
	if err != nil {
		return Member{Node: n.Name()}, fmt.Errorf("read etcd's manifest (%s or %s): %w", ManifestPath, moved, err)
	}
	return ParseManifest(n.Name(), []byte(out))
}

// upload puts the snapshot on n, unless it is there already.
func (r *Restore) upload(ctx context.Context, n remote.Node, _ Member) error {
	p := r.snapshotPath()
	out, _ := n.Run(ctx, "sha256sum "+remote.Quote(p)+" 2>/dev/null || true")
	if strings.HasPrefix(out, r.Meta.SHA256+" ") {
		return nil
	}
	if _, err := n.Run(ctx, "mkdir -p -m 0700 "+remote.Quote(r.dir())); err != nil {
		return err
	}
	if err := n.Upload(ctx, p, r.Snapshot, 0o600); err != nil {
		return err
	}
	out, err := n.Run(ctx, "sha256sum "+remote.Quote(p))
	if err != nil {
		return err
	}
	if !strings.HasPrefix(out, r.Meta.SHA256+" ") {
		return fmt.Errorf("the snapshot uploaded to %s has another sha256 (%s) than the backup's %s", p, strings.Fields(out + " ?")[0], r.Meta.SHA256)
	}
	return nil
}

// stop moves the static pods' manifests away and waits until etcd and
// kube-apiserver no longer run.
func (r *Restore) stop(ctx context.Context, n remote.Node, _ Member) error {
	moved := remote.Quote(r.dir() + "/manifests")
	lines := []string{"set -eu", "mkdir -p " + moved}
	for _, p := range staticPods {
		f := "/etc/kubernetes/manifests/" + p + ".yaml"
		lines = append(lines, fmt.Sprintf("if [ -f %s ]; then mv %s %s/; fi", f, f, moved))
	}
	lines = append(lines, waitGone(r.seconds()))
	_, err := n.Run(ctx, "sh -c "+remote.Quote(strings.Join(lines, "\n")))
	return err
}

// waitGone waits up to seconds for etcd and kube-apiserver to stop.
func waitGone(seconds int) string {
	return fmt.Sprintf(`i=0
while [ -n "$(crictl ps --name '^(etcd|kube-apiserver)$' --state running -q)" ]; do
  i=$((i+1))
  if [ $i -gt %d ]; then echo "etcd or kube-apiserver still runs %d s after its manifest was moved away:"; crictl ps; exit 1; fi
  sleep 1
done`, seconds, seconds)
}

// restore makes etcd's data from the snapshot with etcd's own tool, run
// from the etcd image by ctr (the etcd container is stopped), then puts it
// in place of the member folder, which it moves to RestoreDir/before. A
// marker makes a repeat skip it.
func (r *Restore) restore(ctx context.Context, n remote.Node, m Member, cluster string) error {
	_, err := n.Run(ctx, "sh -c "+remote.Quote(restoreScript(r.dir(), m, cluster, r.snapshotPath(), r.marker(), "kprov-restore-"+r.Meta.SHA256[:16])))
	return err
}

func restoreScript(rdir string, m Member, cluster, snapshot, marker, token string) string {
	q := remote.Quote
	data, dir, img := q(rdir+"/data"), strings.TrimRight(m.DataDir, "/"), q(m.Image)
	run := "ctr -n k8s.io run --rm --mount " + q("type=bind,src="+rdir+",dst="+rdir+",options=rbind:rw") + " " + img
	return strings.Join([]string{
		"set -eu",
		"[ ! -f " + q(marker) + " ] || exit 0",
		"rm -rf " + data,
		// etcdutl restores from etcd 3.5 on; etcd 3.4's image has only etcdctl.
		"if " + run + " kprov-etcdutl-$$ etcdutl version >/dev/null 2>&1; then tool=etcdutl; else tool=etcdctl; fi",
		run + " kprov-etcd-restore-$$ $tool snapshot restore " + q(snapshot) + " --data-dir " + data +
			" --name " + q(m.Name) + " --initial-cluster " + q(cluster) + " --initial-cluster-token " + q(token) +
			" --initial-advertise-peer-urls " + q(m.PeerURL),
		"[ -d " + data + "/member ] || { echo \"$tool snapshot restore made no member folder in \"" + data + "; exit 1; }",
		"if [ -d " + q(dir+"/member") + " ]; then mkdir -p -m 0700 " + q(rdir+"/before") + " && mv " + q(dir+"/member") + " " + q(rdir+"/before") + "/member-$(date -u +%Y%m%dT%H%M%S.%NZ); fi",
		"mkdir -p -m 0700 " + q(dir),
		"mv " + data + "/member " + q(dir+"/member"),
		"touch " + q(marker),
	}, "\n")
}

// start puts the manifests back: the kubelet starts the pods again.
func (r *Restore) start(ctx context.Context, n remote.Node, _ Member) error {
	_, err := n.Run(ctx, "sh -c "+remote.Quote(`set -eu
for f in `+remote.Quote(r.dir())+`/manifests/*.yaml; do if [ -f "$f" ]; then mv "$f" /etc/kubernetes/manifests/; fi; done`))
	return err
}

// ready waits up to Wait for the node's API server to say it is ready,
// which needs its etcd to have a quorum.
func (r *Restore) ready(ctx context.Context, n remote.Node, _ Member) error {
	_, err := n.Run(ctx, "sh -c "+remote.Quote(fmt.Sprintf(`i=0
until out=$(kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /readyz 2>&1); do
  i=$((i+2))
  if [ $i -gt %d ]; then echo "kube-apiserver not ready %d s after the restore: $out"; crictl ps -a; exit 1; fi
  sleep 2
done`, r.seconds(), r.seconds())))
	return err
}
