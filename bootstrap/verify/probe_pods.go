package verify

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ProbeImage is the image of every probe pod: Kubernetes' own e2e test
// image (agnhost netexec serves HTTP; sh, curl, ping and nslookup).
const ProbeImage = "registry.k8s.io/e2e-test-images/agnhost:2.47"

// The probe's labels and names.
const (
	// ProbeLabel marks the probe's namespaces ("true") and pods (their
	// role).
	ProbeLabel     = "kprov.io/probe"
	probeService   = "probe-server"
	probeClient    = "client"
	serverA        = "server-a"
	serverB        = "server-b"
	roleServer     = "server"
	roleClient     = "client"
	roleTarget     = "target"
	probeContainer = "probe"
	ingressHost    = "kprov-probe.invalid"
)

// pickNodes returns up to two nodes for the probe's pods: Ready, not
// cordoned, without a NoSchedule or NoExecute taint; workers first, then
// by name.
func pickNodes(nodes []corev1.Node) []string {
	type cand struct {
		name   string
		worker bool
	}
	var cs []cand
	for _, n := range nodes {
		if n.Spec.Unschedulable || !nodeReady(n) || slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
		}) {
			continue
		}
		_, cp := n.Labels["node-role.kubernetes.io/control-plane"]
		_, master := n.Labels["node-role.kubernetes.io/master"]
		cs = append(cs, cand{n.Name, !cp && !master})
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if a.worker != b.worker {
			if a.worker {
				return -1
			}
			return 1
		}
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	var out []string
	for _, c := range cs[:min(2, len(cs))] {
		out = append(out, c.name)
	}
	return out
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// probeNamespace is a namespace of the probe's, labelled so that a
// leftover is easy to find, and admitting the probe's pods (they run as
// root with the default capabilities: ping) where the cluster's pod
// security default is stricter.
func probeNamespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		ProbeLabel:                           "true",
		"pod-security.kubernetes.io/enforce": "baseline",
	}}}
}

// allowAll lets every pod of the probe's namespace send and receive
// anything: a global default deny would otherwise cover it too.
func allowAll(ns string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "kprov-probe-allow-all", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
		},
	}
}

// probePod is a pod of the probe on node: one container of ProbeImage
// running args (after the image's entrypoint) or command, never
// restarted, gone a second after it is deleted.
func probePod(ns, name, role, node string, command, args []string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{ProbeLabel: role}},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  new(false),
			EnableServiceLinks:            new(false),
			Containers: []corev1.Container{{
				Name:            probeContainer,
				Image:           ProbeImage,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         command,
				Args:            args,
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("5m"),
					corev1.ResourceMemory: resource.MustParse("16Mi"),
				}},
			}},
		},
	}
}

// serverPod runs netexec, Ready once it answers /healthz.
func serverPod(ns, name, node string) *corev1.Pod {
	p := probePod(ns, name, roleServer, node, nil, []string{"netexec", "--http-port=8080"})
	p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: probePort, Protocol: corev1.ProtocolTCP}}
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(probePort)}},
		PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 3,
	}
	return p
}

// scriptPod runs a sh script; POD_IP holds the pod's own address.
func scriptPod(ns, name, role, node, script string) *corev1.Pod {
	p := probePod(ns, name, role, node, []string{"sh", "-c", script}, nil)
	p.Spec.Containers[0].Env = []corev1.EnvVar{{
		Name:      "POD_IP",
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}},
	}}
	return p
}

// probeServiceOf selects the probe's servers.
func probeServiceOf(ns string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: probeService, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{ProbeLabel: roleServer},
			Ports:    []corev1.ServicePort{{Name: "http", Port: probePort, TargetPort: intstr.FromInt32(probePort), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// probeIngressOf routes host kprov-probe.invalid of class to the probe
// Service.
func probeIngressOf(ns, class string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "kprov-probe", Namespace: ns},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{
				Host: ingressHost,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: probeService, Port: networkingv1.ServiceBackendPort{Number: probePort},
						}},
					}},
				}},
			}},
		},
	}
}
