package addons

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
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
// traffic policy and addresses of s. The Service is the one named
// s.Service, else the one Service that selects the controller's pods (a
// warning says which). A manifest with no Service in the namespace (the
// early-2020 mandatory.yaml ships it in a separate provider file) gets one
// built like upstream's cloud-generic.yaml, selecting the controller's
// pods. Several candidates, or Services none of which selects the
// controller, are an error: kprov never adds a second Service.
func PatchIngress(source string, objs []Object, s Ingress) ([]Object, []string, error) {
	svc, warnings, err := ingressTarget(source, objs, s)
	if err != nil {
		return nil, nil, err
	}
	if svc == nil {
		made, err := ingressService(source, objs, s)
		if err != nil {
			return nil, nil, err
		}
		objs = append(objs, made)
		svc = made
	}
	return objs, warnings, edit(svc, func(v *corev1.Service) error {
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

// ingressTarget finds the Service to patch: the one named s.Service, else
// the one selecting the pods of a controller (a workload with a container
// port named http). Nil and no error: the namespace has no Service at all,
// so one is to be built.
func ingressTarget(source string, objs []Object, s Ingress) (Object, []string, error) {
	if svc := find(objs, "Service", s.Namespace, s.Service); svc != nil {
		return svc, nil, nil
	}
	var pods []labels.Set
	var controllers []string
	for _, o := range objs {
		if o.GetNamespace() != s.Namespace || (o.GetKind() != "Deployment" && o.GetKind() != "DaemonSet") {
			continue
		}
		_, podLabels, ports, err := workloadPods(o)
		if err != nil {
			return nil, nil, err
		}
		if slices.Contains(ports, "http") && len(podLabels) > 0 {
			pods = append(pods, podLabels)
			controllers = append(controllers, Ref(o))
		}
	}
	var services, picked []string
	var first Object
	for _, o := range objs {
		if o.GetKind() != "Service" || o.GetNamespace() != s.Namespace {
			continue
		}
		services = append(services, o.GetName())
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
		selects := labels.SelectorFromSet(sel)
		if len(sel) > 0 && slices.ContainsFunc(pods, func(p labels.Set) bool { return selects.Matches(p) }) {
			picked = append(picked, o.GetName())
			if first == nil {
				first = o
			}
		}
	}
	missing := fmt.Sprintf("Service %s/%s", s.Namespace, s.Service)
	switch {
	case len(picked) == 1:
		return first, []string{fmt.Sprintf("%s has no %s: kprov patches Service %s/%s instead, the one Service that selects the pods of %s. Set ingress.service_name = %q to say so.",
			source, missing, s.Namespace, picked[0], strings.Join(controllers, ", "), picked[0])}, nil
	case len(picked) > 1:
		return nil, nil, &MissingError{source, missing, fmt.Sprintf("Services %s all select the pods of %s, and kprov will not guess which one takes the traffic. Set ingress.service_name to one of them.",
			strings.Join(picked, ", "), strings.Join(controllers, ", "))}
	case len(services) > 0 && len(controllers) == 0:
		return nil, nil, &MissingError{source, missing, fmt.Sprintf("its Services in %s (%s) are no ingress controller's: the namespace has no Deployment or DaemonSet with a container port named http. Set ingress.namespace and ingress.service_name to the manifest's.",
			s.Namespace, strings.Join(services, ", "))}
	case len(services) > 0:
		return nil, nil, &MissingError{source, missing, fmt.Sprintf("none of its Services in %s (%s) selects the pods of %s, and kprov will not add a second one. Set ingress.service_name to the controller's Service, or make that Service's selector match the controller's pod labels.",
			s.Namespace, strings.Join(services, ", "), strings.Join(controllers, ", "))}
	}
	return nil, nil, nil
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
		sel, _, ports, err := workloadPods(o)
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

// workloadPods reads a Deployment's or DaemonSet's pod selector (its
// matchLabels, else its pod labels), pod labels and container port names.
func workloadPods(o Object) (map[string]string, map[string]string, []string, error) {
	var tmpl corev1.PodTemplateSpec
	var sel *metav1.LabelSelector
	switch o.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", Ref(o), err)
		}
		tmpl, sel = d.Spec.Template, d.Spec.Selector
	default:
		var d appsv1.DaemonSet
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", Ref(o), err)
		}
		tmpl, sel = d.Spec.Template, d.Spec.Selector
	}
	selector := tmpl.Labels
	if sel != nil && len(sel.MatchLabels) > 0 {
		selector = sel.MatchLabels
	}
	var ports []string
	for _, c := range tmpl.Spec.Containers {
		for _, p := range c.Ports {
			ports = append(ports, p.Name)
		}
	}
	return selector, tmpl.Labels, ports, nil
}
