package addons

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kprov/kprov/provision/spec"
)

// Ingress is what kprov sets on an ingress controller's Service.
type Ingress struct {
	Namespace, Service string
	// TrafficPolicy is externalTrafficPolicy: Local keeps client source
	// addresses.
	TrafficPolicy string
	// Addresses the Service answers on; MetalLB announces them.
	Addresses []string
}

// IngressOf reads the ingress settings of a normalized spec (nil: none).
func IngressOf(c *spec.Cluster) *Ingress {
	in := c.Ingress
	if in == nil {
		return nil
	}
	return &Ingress{Namespace: in.Namespace, Service: in.ServiceName, TrafficPolicy: in.ExternalTrafficPolicy, Addresses: in.Addresses}
}

// MetalLB annotations (v0.13 and later) and the pool kprov creates.
const (
	AnnotationPool = "metallb.universe.tf/address-pool"
	AnnotationIPs  = "metallb.universe.tf/loadBalancerIPs"
	PoolName       = "kprov-ingress"
)

// PatchIngress makes the controller's Service a LoadBalancer with the
// traffic policy and addresses of s. A manifest without the Service (the
// early-2020 mandatory.yaml ships it in a separate provider file) gets one
// built like upstream's cloud-generic.yaml, selecting the controller's pods.
func PatchIngress(source string, objs []Object, s Ingress) ([]Object, error) {
	svc := find(objs, "Service", s.Namespace, s.Service)
	if svc == nil {
		made, err := ingressService(source, objs, s)
		if err != nil {
			return nil, err
		}
		objs = append(objs, made)
		svc = made
	}
	return objs, edit(svc, func(v *corev1.Service) error {
		v.Spec.Type = corev1.ServiceTypeLoadBalancer
		v.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyType(s.TrafficPolicy)
		if len(s.Addresses) > 0 {
			if v.Annotations == nil {
				v.Annotations = map[string]string{}
			}
			v.Annotations[AnnotationPool] = PoolName
			v.Annotations[AnnotationIPs] = strings.Join(s.Addresses, ",")
		}
		return nil
	})
}

// ingressService builds the controller's Service from its workload: the
// pods it selects and the http/https ports it names.
func ingressService(source string, objs []Object, s Ingress) (Object, error) {
	var names []string
	for _, o := range objs {
		if o.GetNamespace() != s.Namespace || (o.GetKind() != "Deployment" && o.GetKind() != "DaemonSet") {
			continue
		}
		names = append(names, Ref(o))
		sel, ports, err := workloadPods(o)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ports, "http") {
			continue
		}
		svc := &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: s.Service, Namespace: s.Namespace, Labels: sel},
			Spec:       corev1.ServiceSpec{Selector: sel},
		}
		for _, p := range []struct {
			name string
			port int32
		}{{"http", 80}, {"https", 443}} {
			if slices.Contains(ports, p.name) {
				svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: p.name, Port: p.port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString(p.name)})
			}
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(svc)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		return u, nil
	}
	return nil, &MissingError{source, fmt.Sprintf("Service %s/%s and no controller to build it for", s.Namespace, s.Service),
		fmt.Sprintf("workloads in %s: %v, none with a container port named http. Set ingress.namespace and ingress.service_name to the manifest's, or add the Service to the manifest.", s.Namespace, names)}
}

func workloadPods(o Object) (map[string]string, []string, error) {
	var tmpl corev1.PodTemplateSpec
	var sel *metav1.LabelSelector
	switch o.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", Ref(o), err)
		}
		tmpl, sel = d.Spec.Template, d.Spec.Selector
	default:
		var d appsv1.DaemonSet
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", Ref(o), err)
		}
		tmpl, sel = d.Spec.Template, d.Spec.Selector
	}
	labels := tmpl.Labels
	if sel != nil && len(sel.MatchLabels) > 0 {
		labels = sel.MatchLabels
	}
	var ports []string
	for _, c := range tmpl.Spec.Containers {
		for _, p := range c.Ports {
			ports = append(ports, p.Name)
		}
	}
	return labels, ports, nil
}
