package addonsrun_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kprov/kprov/bootstrap/addonsrun"
	"github.com/kprov/kprov/internal/judge"
)

// An upgrade's steps against the real API server: the cluster's version
// read from kubeadm-config, a node drained and marked, a node a user
// cordoned left cordoned, the kubelet's new version waited for, the
// marked node uncordoned once.
func TestUpgradeSteps(t *testing.T) {
	api := judge.StartAPIServer(t, "v1.37.2")
	cfg := api.RESTConfig(t)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := addonsrun.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Poll = 100 * time.Millisecond

	if _, err := c.ClusterVersion(ctx); err == nil {
		t.Error("a cluster without kubeadm-config has a version")
	}
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config"},
		Data: map[string]string{"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n" +
			"kubernetesVersion: v1.30.4\nnetworking:\n  podSubnet: 10.244.0.0/16\n" +
			"etcd:\n  local:\n    dataDir: /var/lib/etcd\n    imageTag: 3.5.12-0\n"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, err := c.ClusterVersion(ctx); err != nil || v != "v1.30.4" {
		t.Errorf("cluster version %q, %v; want v1.30.4", v, err)
	}
	// The etcd and CoreDNS tags kprov pinned at init move with the
	// upgrade; the rest of the configuration stays.
	for i, want := range []bool{true, false} {
		if did, kept, err := c.SetImageTags(ctx, "3.5.15-0", "v1.11.3"); err != nil || did != want || kept != "" {
			t.Errorf("set image tags, run %d: %v %q %v, want changed %v", i+1, did, kept, err, want)
		}
	}
	// etcd is never moved back.
	if did, kept, err := c.SetImageTags(ctx, "3.5.12-0", "v1.11.3"); err != nil || did || kept != "3.5.15-0" {
		t.Errorf("an older etcd tag: %v %q %v, want 3.5.15-0 kept", did, kept, err)
	}
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubeadm-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"podSubnet: 10.244.0.0/16", "kubernetesVersion: v1.30.4",
		"etcd:\n  local:\n    dataDir: /var/lib/etcd\n    imageTag: 3.5.15-0", "dns:\n  imageTag: v1.11.3"} {
		if !strings.Contains(cm.Data["ClusterConfiguration"], want) {
			t.Errorf("ClusterConfiguration lacks %q:\n%s", want, cm.Data["ClusterConfiguration"])
		}
	}

	report := func(name, version string, ready bool) {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		n.Status.NodeInfo.KubeletVersion = version
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []*corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "worker-1"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "worker-2"}, Spec: corev1.NodeSpec{Unschedulable: true}},
	} {
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		report(n.Name, "v1.30.4", true)
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Spec: corev1.PodSpec{NodeName: "worker-1", Containers: []corev1.Container{{Name: "c", Image: "app"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer kubelets(t, cs)()

	info, ok, err := c.Node(ctx, "worker-1")
	if err != nil || !ok || info.KubeletVersion != "v1.30.4" || !info.Ready || info.Unschedulable || info.UpgradingTo != "" {
		t.Fatalf("worker-1 before: %+v %v %v", info, ok, err)
	}
	if _, ok, err := c.Node(ctx, "worker-9"); ok || err != nil {
		t.Errorf("worker-9: %v %v, want not found", ok, err)
	}
	var out bytes.Buffer
	if err := c.Drain(ctx, "worker-1", "v1.30.14", time.Minute, &out); err != nil {
		t.Fatalf("drain: %v\n%s", err, out.String())
	}
	info, _, _ = c.Node(ctx, "worker-1")
	if !info.Unschedulable || info.UpgradingTo != "v1.30.14" {
		t.Errorf("worker-1 drained: %+v, want cordoned and marked", info)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "app", metav1.GetOptions{}); err == nil {
		t.Error("pod app is still on the drained worker-1")
	}

	// Not reported yet: the wait gives up, saying what it saw.
	var we *addonsrun.WaitError
	if err := c.WaitKubelet(ctx, "worker-1", "v1.30.14", true, 500*time.Millisecond); !errors.As(err, &we) {
		t.Errorf("wait before the kubelet reported: %v, want a WaitError", err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		report("worker-1", "v1.30.14", true)
	}()
	if err := c.WaitKubelet(ctx, "worker-1", "v1.30.14", true, 30*time.Second); err != nil {
		t.Fatal(err)
	}

	if did, err := c.Uncordon(ctx, "worker-2"); err != nil || did {
		t.Errorf("uncordon of the user's cordoned worker-2: %v %v, want nothing done", did, err)
	}
	if did, err := c.Uncordon(ctx, "worker-1"); err != nil || !did {
		t.Errorf("uncordon worker-1: %v %v", did, err)
	}
	info, _, _ = c.Node(ctx, "worker-1")
	if info.Unschedulable || info.UpgradingTo != "" {
		t.Errorf("worker-1 after: %+v, want schedulable and unmarked", info)
	}
	if w2, _, _ := c.Node(ctx, "worker-2"); !w2.Unschedulable {
		t.Error("worker-2 was uncordoned")
	}
	if did, err := c.Uncordon(ctx, "worker-1"); err != nil || did {
		t.Errorf("second uncordon: %v %v, want nothing done", did, err)
	}
	if all, err := c.Nodes(ctx); err != nil || all["worker-1"].KubeletVersion != "v1.30.14" || !all["worker-2"].Unschedulable || len(all) != 2 {
		t.Errorf("nodes %+v, %v", all, err)
	}
}
