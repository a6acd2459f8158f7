package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kprov/kprov/internal/retry"
)

func (pr *Prober) poll() time.Duration {
	if pr.Poll > 0 {
		return pr.Poll
	}
	return 2 * time.Second
}

// logs reads the probe container's log of pod ns/name.
func (pr *Prober) logs(ctx context.Context, ns, name string) (string, error) {
	if pr.Logs != nil {
		return pr.Logs(ctx, ns, name)
	}
	limit := int64(64 << 10)
	b, err := pr.Client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: probeContainer, LimitBytes: &limit}).DoRaw(ctx)
	return string(b), err
}

// waitPod looks at pod ns/name every Poll until done says it is what
// want names, and returns it. It gives up early when the pod cannot get
// there (it failed, its image cannot be pulled) and when ctx ends.
func (r *probeRun) waitPod(ctx context.Context, ns, name, want string, done func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	var pod *corev1.Pod
	last := "not seen yet"
	err := retry.Do(ctx, retry.Every(r.poll()), 0, func(ctx context.Context) error {
		p, err := r.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() == nil {
				last = err.Error()
			}
			return err
		}
		pod = p
		if ok, err := done(p); err != nil || ok {
			return retry.Stop(err)
		}
		if err := stuck(p, want); err != nil {
			return retry.Stop(err)
		}
		last = podState(p)
		return errors.New(last)
	})
	if errors.As(err, new(*retry.Error)) {
		return pod, fmt.Errorf("pod %s/%s not %s (%s): %w", ns, name, want, last, context.Cause(ctx))
	}
	return pod, err
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ended(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// stuck says why p will not become what want names, if it will not.
func stuck(p *corev1.Pod, want string) error {
	if ended(p) {
		return fmt.Errorf("pod %s/%s ended (%s) before it was %s", p.Namespace, p.Name, podState(p), want)
	}
	for _, c := range p.Status.ContainerStatuses {
		w := c.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName":
			return fmt.Errorf("pod %s/%s: %s: %s: the nodes must be able to pull %s (a registry mirror can hold it)", p.Namespace, p.Name, w.Reason, w.Message, ProbeImage)
		case "CreateContainerConfigError":
			return fmt.Errorf("pod %s/%s: %s: %s", p.Namespace, p.Name, w.Reason, w.Message)
		}
	}
	return nil
}

// podState is a pod's phase and its container's state, in short.
func podState(p *corev1.Pod) string {
	if p == nil {
		return "not seen"
	}
	s := string(p.Status.Phase)
	if s == "" {
		s = "no status yet"
	}
	if p.Spec.NodeName != "" {
		s += " on " + p.Spec.NodeName
	}
	for _, c := range p.Status.ContainerStatuses {
		switch {
		case c.State.Waiting != nil:
			s += ", " + c.State.Waiting.Reason
		case c.State.Terminated != nil:
			t := c.State.Terminated
			s += fmt.Sprintf(", exit code %d %s", t.ExitCode, t.Reason)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			s += ", " + c.Message
		}
	}
	return s
}

// waitServiceAccount waits for namespace ns's default ServiceAccount:
// until kube-controller-manager makes it, the API server refuses pods
// there.
func (r *probeRun) waitServiceAccount(ctx context.Context, ns string) error {
	err := retry.Do(ctx, retry.Every(r.poll()), 0, func(ctx context.Context) error {
		_, err := r.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("namespace %s has no default ServiceAccount (%v): is kube-controller-manager running? %w", ns, retry.Last(err), context.Cause(ctx))
	}
	return nil
}

// waitClusterIP returns svc's cluster IP (the API server assigns it).
func (r *probeRun) waitClusterIP(ctx context.Context, svc *corev1.Service) (string, error) {
	assigned := func() bool { return svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone }
	if assigned() {
		return svc.Spec.ClusterIP, nil
	}
	err := retry.Do(ctx, retry.Every(r.poll()), 0, func(ctx context.Context) error {
		if s, err := r.Client.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{}); err == nil {
			svc = s
		}
		if assigned() {
			return nil
		}
		return errors.New("no cluster IP yet")
	})
	if err != nil {
		return "", fmt.Errorf("the Service %s/%s has no cluster IP: %w", svc.Namespace, svc.Name, context.Cause(ctx))
	}
	return svc.Spec.ClusterIP, nil
}

// lastLines is the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := slices.DeleteFunc(strings.Split(s, "\n"), func(l string) bool { return strings.TrimSpace(l) == "" })
	if len(lines) == 0 {
		return "(empty log)"
	}
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// cleanup deletes what the run created, with a context of its own: the
// run's may have ended (Ctrl-C). Namespaces go with everything in them,
// in the background.
func (r *probeRun) cleanup(parent context.Context) Check {
	const name = "probe cleanup"
	if len(r.created) == 0 {
		return pass(name, "nothing was created")
	}
	timeout := r.CleanupTimeout
	if timeout <= 0 {
		timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), timeout)
	defer cancel()
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	var done, left []string
	for _, c := range r.created {
		err := retry.Do(ctx, retry.Every(r.poll()), 3, func(ctx context.Context) error {
			var err error
			switch c.kind {
			case "namespace":
				err = r.Client.CoreV1().Namespaces().Delete(ctx, c.name, opts)
			default:
				err = r.Client.CoreV1().Pods(c.namespace).Delete(ctx, c.name, opts)
			}
			if apierrors.IsNotFound(err) || ctx.Err() != nil {
				return retry.Stop(err)
			}
			return err
		})
		err = retry.Last(err)
		switch {
		case err == nil || apierrors.IsNotFound(err):
			done = append(done, c.String())
		case c.kind == "namespace":
			left = append(left, fmt.Sprintf("%s (%v): kubectl delete namespace %s", c, err, c.name))
		default:
			left = append(left, fmt.Sprintf("%s (%v): kubectl -n %s delete pod %s", c, err, c.namespace, c.name))
		}
	}
	if len(left) > 0 {
		return fail(name, "left %s", strings.Join(left, "; "))
	}
	return pass(name, "deleted %s", strings.Join(done, ", "))
}
