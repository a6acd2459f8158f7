package addonsrun_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kprov/kprov/bootstrap/addonsrun"
	"github.com/kprov/kprov/internal/judge"
)

// A leaving worker against the real API server: cordoned, its pods evicted
// (a bare one too) but the DaemonSet's, then its Node object deleted; the
// other node's pod is untouched, and a second Leave finds nothing.
func TestLeave(t *testing.T) {
	api := judge.StartAPIServer(t, "v1.37.2")
	cfg := api.RESTConfig(t)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, n := range []string{"worker-1", "worker-2"} {
		if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	labels := map[string]string{"app": "agent"}
	ds, err := cs.AppsV1().DaemonSets("default").Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "agent"}}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	pod := func(name, node string, owner *metav1.OwnerReference) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "app"}}}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod("bare", "worker-2", nil)
	pod("agent-w2", "worker-2", &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name, UID: ds.UID, Controller: &yes})
	pod("elsewhere", "worker-1", nil)
	defer kubelets(t, cs)()

	c, err := addonsrun.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	was, err := c.Leave(ctx, "worker-2", time.Minute, &out)
	if err != nil || !was {
		t.Fatalf("leave: %v, %v\n%s", was, err, out.String())
	}
	if _, err := cs.CoreV1().Nodes().Get(ctx, "worker-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node worker-2 is still there: %v", err)
	}
	for name, want := range map[string]bool{"bare": false, "agent-w2": true, "elsewhere": true} {
		_, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if have := err == nil; have != want {
			t.Errorf("pod %s exists: %v, want %v (%v)", name, have, want, err)
		}
	}
	if n, err := cs.CoreV1().Nodes().Get(ctx, "worker-1", metav1.GetOptions{}); err != nil || n.Spec.Unschedulable {
		t.Errorf("worker-1 was touched: %v", err)
	}
	if was, err := c.Leave(ctx, "worker-2", time.Minute, &out); err != nil || was {
		t.Errorf("second leave: %v, %v", was, err)
	}
}

// kubelets stands in for the nodes' kubelets: a pod marked for deletion
// is confirmed gone, as a kubelet does once its containers stopped.
func kubelets(t *testing.T, cs kubernetes.Interface) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		zero := int64(0)
		for i := 0; i < 1500 && ctx.Err() == nil; i++ {
			pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, p := range pods.Items {
					if p.DeletionTimestamp != nil {
						cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}
