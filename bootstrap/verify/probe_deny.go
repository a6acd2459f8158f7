package verify

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// createTarget creates the default-deny target pod on node (nil when
// the spec has no default deny).
func (r *probeRun) createTarget(ctx context.Context, node string) (*corev1.Pod, error) {
	script := targetScript("kubernetes.default.svc."+r.p.DNSDomain, 5)
	var pod *corev1.Pod
	switch {
	case r.p.GlobalDeny:
		ns := "kprov-probe-deny-" + r.suffix
		if _, err := r.Client.CoreV1().Namespaces().Create(ctx, probeNamespace(ns), metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create namespace %s: %w", ns, r.cause(ctx, err))
		}
		r.created = append(r.created, created{kind: "namespace", name: ns})
		if err := r.waitServiceAccount(ctx, ns); err != nil {
			return nil, err
		}
		pod = scriptPod(ns, "target", roleTarget, node, script)
	case r.p.DenyNamespace != "":
		pod = scriptPod(r.p.DenyNamespace, "kprov-probe-target-"+r.suffix, roleTarget, node, script)
	default:
		r.skip("skipped: the spec has no default deny", checkDeny, checkDenyDNS)
		return nil, nil
	}
	if _, err := r.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, r.cause(ctx, err))
	}
	if !r.p.GlobalDeny {
		r.created = append(r.created, created{kind: "pod", namespace: pod.Namespace, name: pod.Name})
	}
	return pod, nil
}

// waitTarget waits for the target's DNS result and returns its IP; on
// failure it records why and returns "" (the client then skips the deny
// check).
func (r *probeRun) waitTarget(ctx context.Context, target *corev1.Pod) string {
	if target == nil {
		return ""
	}
	var logs string
	pod, err := r.waitPod(ctx, target.Namespace, target.Name, "serving", func(p *corev1.Pod) (bool, error) {
		if p.Status.Phase != corev1.PodRunning {
			return false, nil
		}
		var err error
		logs, err = r.logs(ctx, p.Namespace, p.Name)
		if err != nil {
			return false, nil
		}
		res, _ := parseResults(logs)
		_, ok := res[checkDenyDNS]
		return ok, nil
	})
	if res, _ := parseResults(logs); res[checkDenyDNS].status != "" {
		r.results[checkDenyDNS] = res[checkDenyDNS].toCheck(checkDenyDNS)
	}
	if err != nil {
		r.results[checkDeny] = fail(probeName(checkDeny), "no result: %v", err)
		if _, ok := r.results[checkDenyDNS]; !ok {
			r.results[checkDenyDNS] = fail(probeName(checkDenyDNS), "no result: %v", err)
		}
		return ""
	}
	return pod.Status.PodIP
}
