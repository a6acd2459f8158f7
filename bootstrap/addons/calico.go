package addons

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kprov/kprov/provision/spec"
)

// Calico is what kprov sets in a Calico manifest.
type Calico struct {
	// Autodetect is calico-node's IP_AUTODETECTION_METHOD.
	Autodetect string
	// Encapsulation is none (pure BGP), ipip or vxlan.
	Encapsulation string
	// PoolCIDR is the default IPv4 pool: CALICO_IPV4POOL_CIDR.
	PoolCIDR string
	// MTU is the pod MTU: calico-config's veth_mtu.
	MTU int
	// Registry, when set, replaces the registry of every image.
	Registry string
}

// CalicoOf reads the Calico settings of a normalized spec.
func CalicoOf(c *spec.Cluster) Calico {
	ca := c.Calico
	return Calico{
		Autodetect:    ca.IPAutodetectionMethod,
		Encapsulation: ca.Encapsulation,
		PoolCIDR:      ca.PoolCIDR,
		MTU:           ca.PodMTU,
		Registry:      ca.ImageRegistry,
	}
}

// MissingError says a manifest lacks an object kprov must change.
type MissingError struct {
	Manifest, What, Hint string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s has no %s: %s", e.Manifest, e.What, e.Hint)
}

// The names upstream Calico manifests use (v3.11 through current).
const (
	calicoNode   = "calico-node"
	calicoConfig = "calico-config"
)

// PatchCalico sets s in the objects of a Calico manifest (source names it
// in errors): calico-node's environment and calico-config's veth_mtu.
// Every other object and field stays as it was.
func PatchCalico(source string, objs []Object, s Calico) error {
	ds := findKind(objs, "DaemonSet", calicoNode)
	if ds == nil {
		return &MissingError{source, "DaemonSet calico-node", "is it Calico's manifest install (calico.yaml), not the operator's?"}
	}
	cm := findKind(objs, "ConfigMap", calicoConfig)
	if cm == nil {
		return &MissingError{source, "ConfigMap calico-config", "kprov sets the pod MTU there (veth_mtu)."}
	}
	if err := dropDuplicateEnv(ds, calicoNode, calicoEnvSet); err != nil {
		return fmt.Errorf("%s: %s: %w", source, Ref(ds), err)
	}
	if err := edit(ds, func(d *appsv1.DaemonSet) error { return calicoNodeEnv(d, s) }); err != nil {
		return err
	}
	if err := edit(cm, func(c *corev1.ConfigMap) error {
		if c.Data == nil {
			c.Data = map[string]string{}
		}
		c.Data["veth_mtu"] = strconv.Itoa(s.MTU)
		if s.Encapsulation == "vxlan" {
			c.Data["calico_backend"] = "vxlan"
		}
		return nil
	}); err != nil {
		return err
	}
	if s.Registry != "" {
		return rewriteRegistry(objs, s.Registry)
	}
	return nil
}

func calicoNodeEnv(d *appsv1.DaemonSet, s Calico) error {
	c := container(d.Spec.Template.Spec.Containers, calicoNode)
	if c == nil {
		return errors.New("no container calico-node")
	}
	ipip, vxlan := "Never", "Never"
	switch s.Encapsulation {
	case "ipip":
		ipip = "Always"
	case "vxlan":
		vxlan = "Always"
	}
	setEnv(c, "IP_AUTODETECTION_METHOD", s.Autodetect)
	setEnv(c, "CALICO_IPV4POOL_IPIP", ipip)
	setEnv(c, "CALICO_IPV4POOL_VXLAN", vxlan)
	setEnv(c, "CALICO_IPV4POOL_CIDR", s.PoolCIDR)
	if s.Encapsulation == "vxlan" {
		// What upstream's calico-vxlan.yaml does: the tunnel MTU from
		// veth_mtu, and no BIRD to probe.
		if !hasEnv(c, "FELIX_VXLANMTU") {
			c.Env = append(c.Env, corev1.EnvVar{Name: "FELIX_VXLANMTU", ValueFrom: &corev1.EnvVarSource{
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: calicoConfig}, Key: "veth_mtu"},
			}})
		}
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
			if p != nil && p.Exec != nil {
				p.Exec.Command = slices.DeleteFunc(p.Exec.Command, func(a string) bool { return a == "-bird-live" || a == "-bird-ready" })
			}
		}
	}
	return nil
}

func container(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func hasEnv(c *corev1.Container, name string) bool {
	return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
}

// setEnv sets name to a literal value, replacing a valueFrom.
func setEnv(c *corev1.Container, name, value string) {
	for i := range c.Env {
		if c.Env[i].Name == name {
			c.Env[i].Value, c.Env[i].ValueFrom = value, nil
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
}

// calicoEnvSet are the variables kprov sets in calico-node.
var calicoEnvSet = []string{"IP_AUTODETECTION_METHOD", "CALICO_IPV4POOL_IPIP", "CALICO_IPV4POOL_VXLAN", "CALICO_IPV4POOL_CIDR", "FELIX_VXLANMTU"}

// dropDuplicateEnv keeps only the first entry of each of names in the
// container's env. A manifest edited by hand may hold one twice; the
// container would get the last one (not kprov's), and neither a strategic
// merge nor a server-side apply takes a list keyed by name with a key twice.
func dropDuplicateEnv(o Object, container string, names []string) error {
	cs, ok, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
	if err != nil || !ok {
		return err
	}
	for i, c := range cs {
		cm, ok := c.(map[string]any)
		if !ok || cm["name"] != container {
			continue
		}
		env, _ := cm["env"].([]any)
		seen := map[string]bool{}
		kept := env[:0:0]
		for _, e := range env {
			n, _ := e.(map[string]any)["name"].(string)
			if slices.Contains(names, n) && seen[n] {
				continue
			}
			seen[n] = true
			kept = append(kept, e)
		}
		cm["env"] = kept
		cs[i] = cm
	}
	return unstructured.SetNestedSlice(o.Object, cs, "spec", "template", "spec", "containers")
}

func findKind(objs []Object, kind, name string) Object {
	return find(objs, kind, "", name)
}

// rewriteRegistry points every container image of the manifest's
// workloads at registry: docker.io/calico/node:v3.28.5 and calico/node:v3.11.3
// both become REGISTRY/calico/node:TAG.
func rewriteRegistry(objs []Object, registry string) error {
	registry = strings.TrimSuffix(registry, "/")
	re := func(cs []corev1.Container) {
		for i := range cs {
			cs[i].Image = registry + "/" + imagePath(cs[i].Image)
		}
	}
	for _, o := range objs {
		var err error
		switch o.GetKind() {
		case "DaemonSet":
			err = edit(o, func(d *appsv1.DaemonSet) error {
				re(d.Spec.Template.Spec.InitContainers)
				re(d.Spec.Template.Spec.Containers)
				return nil
			})
		case "Deployment":
			err = edit(o, func(d *appsv1.Deployment) error {
				re(d.Spec.Template.Spec.InitContainers)
				re(d.Spec.Template.Spec.Containers)
				return nil
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// imagePath drops the registry host of an image reference: the first
// component is a host when it has a dot or a port, or is localhost.
func imagePath(image string) string {
	first, rest, ok := strings.Cut(image, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return rest
	}
	return image
}
