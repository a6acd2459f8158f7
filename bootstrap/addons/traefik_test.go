package addons_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kprov/kprov/bootstrap/addons"
	imagelist "github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/registry"
	"github.com/kprov/kprov/provision/spec"
)

func typed[T any](t testing.TB, o addons.Object) *T {
	t.Helper()
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func ingressStep(t testing.TB, c *spec.Cluster) []addons.Object {
	t.Helper()
	steps, err := addons.Build(current(c), manifests(t, true))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Name == addons.StepIngress {
			return s.Objects
		}
	}
	t.Fatal("no ingress step")
	return nil
}

// The ingress step of examples/modern.hcl (defaults) and testdata/traefik.hcl
// (namespace, Service, replicas and policy set): upstream's CRDs and
// ClusterRole as published, upstream's binding of namespace default gone,
// kprov's ServiceAccount bound, and a Service of type LoadBalancer in front
// of the Deployment's pods.
func TestTraefikObjects(t *testing.T) {
	for _, tc := range []struct {
		path, ns, svc, policy string
		replicas              int32
	}{
		{example(t, "modern"), "traefik", "traefik", "Local", 1},
		{filepath.Join("testdata", "traefik.hcl"), "edge", "edge-proxy", "Cluster", 2},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			objs := ingressStep(t, load(t, tc.path))
			byRef := map[string]addons.Object{}
			for _, o := range objs {
				byRef[addons.Ref(o)] = o
			}

			upstream := append(decode(t, fromProxy(t, traefikCRDs)), decode(t, fromProxy(t, traefikRBAC))...)
			crds := 0
			for _, u := range upstream {
				got, ok := byRef[addons.Ref(u)]
				switch {
				case u.GetKind() == "ClusterRoleBinding":
					// Replaced by kprov's of the same name: checked below.
				case !ok:
					t.Errorf("upstream %s missing", addons.Ref(u))
				case !reflect.DeepEqual(got.Object, u.Object):
					t.Errorf("upstream %s changed", addons.Ref(u))
				}
				if u.GetKind() == "CustomResourceDefinition" {
					crds++
				}
			}
			if crds < 10 {
				t.Errorf("only %d upstream CRDs", crds)
			}

			var bindings []*rbacv1.ClusterRoleBinding
			for _, o := range objs {
				if o.GetKind() == "ClusterRoleBinding" {
					bindings = append(bindings, typed[rbacv1.ClusterRoleBinding](t, o))
				}
			}
			want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: addons.TraefikName, Namespace: tc.ns}}
			if len(bindings) != 1 || !reflect.DeepEqual(bindings[0].Subjects, want) ||
				bindings[0].RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "traefik-ingress-controller"}) {
				t.Fatalf("bindings %+v, want one of ClusterRole traefik-ingress-controller to %+v", bindings, want)
			}
			if byRef["ServiceAccount "+tc.ns+"/"+addons.TraefikName] == nil || byRef["Namespace "+tc.ns] == nil {
				t.Errorf("no Namespace %s or ServiceAccount %s/%s", tc.ns, tc.ns, addons.TraefikName)
			}

			dep := byRef["Deployment "+tc.ns+"/"+addons.TraefikName]
			svcObj := byRef["Service "+tc.ns+"/"+tc.svc]
			if dep == nil || svcObj == nil {
				t.Fatalf("no Deployment %s/traefik or Service %s/%s", tc.ns, tc.ns, tc.svc)
			}
			d := typed[appsv1.Deployment](t, dep)
			pod := d.Spec.Template.Spec
			if *d.Spec.Replicas != tc.replicas || pod.ServiceAccountName != addons.TraefikName || len(pod.Containers) != 1 {
				t.Fatalf("replicas %d, service account %q, %d containers", *d.Spec.Replicas, pod.ServiceAccountName, len(pod.Containers))
			}
			c := pod.Containers[0]
			if c.Image != "docker.io/traefik:v3.6.12" || len(c.Command) != 0 {
				t.Errorf("image %q command %q: want docker.io/traefik:v3.6.12 and the image's entrypoint", c.Image, c.Command)
			}
			for _, arg := range []string{"--providers.kubernetesingress", "--providers.kubernetescrd", "--ping=true",
				"--providers.kubernetesingress.ingressendpoint.publishedservice=" + tc.ns + "/" + tc.svc} {
				if !slices.Contains(c.Args, arg) {
					t.Errorf("args %q lack %s", c.Args, arg)
				}
			}
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/ping" || p.HTTPGet.Port.IntVal != ports["traefik"] {
					t.Errorf("probe %+v: want GET /ping on the traefik port %d", p, ports["traefik"])
				}
			}
			if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
				t.Errorf("pod security context %+v: want non-root", sc)
			}

			svc := service(t, svcObj)
			if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || string(svc.Spec.ExternalTrafficPolicy) != tc.policy {
				t.Errorf("Service type %s policy %s, want LoadBalancer %s", svc.Spec.Type, svc.Spec.ExternalTrafficPolicy, tc.policy)
			}
			if svc.Annotations[addons.AnnotationPool] != addons.PoolName || svc.Annotations[addons.AnnotationIPs] == "" {
				t.Errorf("Service annotations %v", svc.Annotations)
			}
			for k, v := range svc.Spec.Selector {
				if d.Spec.Template.Labels[k] != v {
					t.Errorf("Service selects %s=%s, pods are labelled %v", k, v, d.Spec.Template.Labels)
				}
			}
			if len(svc.Spec.Selector) == 0 {
				t.Error("Service selects nothing")
			}
			got := map[int32]int32{}
			for _, p := range svc.Spec.Ports {
				got[p.Port] = ports[p.TargetPort.StrVal]
			}
			if !reflect.DeepEqual(got, map[int32]int32{80: 8000, 443: 8443}) {
				t.Errorf("Service ports to container ports %v, want 80->8000, 443->8443", got)
			}
			class := byRef["IngressClass "+addons.TraefikClass]
			if class == nil || class.GetAnnotations()[addons.AnnotationDefaultClass] != "true" {
				t.Fatalf("IngressClass %v", class)
			}
			if ctl, _, _ := unstructuredString(class.Object, "spec", "controller"); ctl != addons.TraefikController {
				t.Errorf("IngressClass controller %q", ctl)
			}
		})
	}
}

// Traefik needs its CRDs and RBAC manifests, pinned by their own lock
// names, and no ingress manifest.
func TestTraefikNeeds(t *testing.T) {
	var got []string
	for _, w := range addons.Needs(load(t, example(t, "modern"))) {
		got = append(got, w.Name+" "+w.Source)
	}
	want := []string{
		"calico https://raw.githubusercontent.com/projectcalico/calico/v3.31.5/manifests/calico.yaml",
		"load-balancer https://raw.githubusercontent.com/metallb/metallb/v0.15.2/config/manifests/metallb-native.yaml",
		"ingress-crds https://raw.githubusercontent.com/traefik/traefik/v3.6.12/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml",
		"ingress-rbac https://raw.githubusercontent.com/traefik/traefik/v3.6.12/docs/content/reference/dynamic-configuration/kubernetes-crd-rbac.yml",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("needs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The manifests swapped (or anything else in their place) are refused,
// naming the manifest and the setting.
func TestTraefikRefusesOtherManifests(t *testing.T) {
	c := current(load(t, example(t, "modern")))
	m := manifests(t, true)
	m[addons.IngressCRDsManifest], m[addons.IngressRBACManifest] = m[addons.IngressRBACManifest], m[addons.IngressCRDsManifest]
	_, err := addons.Build(c, m)
	var me *addons.MissingError
	if !errors.As(err, &me) || me.What != "CustomResourceDefinition" || !strings.Contains(err.Error(), "kubernetes-crd-rbac.yml has no CustomResourceDefinition") || !strings.Contains(err.Error(), "crds_manifest") {
		t.Fatalf("got %v", err)
	}
	m = manifests(t, true)
	m[addons.IngressRBACManifest] = m[addons.IngressCRDsManifest]
	_, err = addons.Build(c, m)
	if !errors.As(err, &me) || me.What != "ClusterRole" || !strings.Contains(err.Error(), "rbac_manifest") {
		t.Fatalf("got %v", err)
	}
}

// Traefik's image is listed with the addon images (what kprov pre-pulls,
// pins in the lock and mirrors), under docker.io.
func TestTraefikImageListed(t *testing.T) {
	c := current(load(t, example(t, "modern")))
	steps, err := addons.Build(c, manifests(t, true))
	if err != nil {
		t.Fatal(err)
	}
	want := imagelist.Image{Ref: "docker.io/traefik:v3.6.12", Source: "addons/ingress"}
	if got := imagelist.Addons(steps); !slices.Contains(got, want) {
		t.Errorf("addon images %+v lack %+v", got, want)
	}
	if h := registry.ImageHost(want.Ref); h != registry.DockerHub {
		t.Errorf("host of %s: %s", want.Ref, h)
	}
}
