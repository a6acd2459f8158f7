package addons

import (
	"errors"
	"fmt"

	"github.com/kprov/kprov/provision/spec"
)

// Manifest is an upstream manifest as fetched: where from, and its bytes.
type Manifest struct {
	Source string
	Data   []byte
}

// Wanted is one manifest a spec needs: the name it has in the lock file,
// where it comes from and the sha256 the spec pins (empty: none).
type Wanted struct {
	Name, Source, SHA256 string
}

// Names of the manifests, as kprov.lock.hcl records them. Controller
// "traefik" needs Traefik's CRDs and RBAC where "manifest" needs ingress.
const (
	CalicoManifest       = "calico"
	IngressManifest      = "ingress"
	IngressCRDsManifest  = "ingress-crds"
	IngressRBACManifest  = "ingress-rbac"
	LoadBalancerManifest = "load-balancer"
)

// Needs lists the manifests a normalized spec needs, in apply order.
func Needs(c *spec.Cluster) []Wanted {
	w := []Wanted{{CalicoManifest, c.Calico.Manifest, c.Calico.SHA256}}
	if in := c.Ingress; in != nil {
		if in.LoadBalancer == "metallb" {
			w = append(w, Wanted{LoadBalancerManifest, in.LoadBalancerManifest, in.LoadBalancerSHA256})
		}
		if in.Controller == spec.ControllerTraefik {
			w = append(w, Wanted{IngressCRDsManifest, in.CRDsManifest, in.CRDsSHA256}, Wanted{IngressRBACManifest, in.RBACManifest, in.RBACSHA256})
		} else {
			w = append(w, Wanted{IngressManifest, in.Manifest, in.SHA256})
		}
	}
	return w
}

// Step is a set of objects applied together: namespaces and CRDs first,
// then the rest, then kprov waits for the step's workloads to roll out
// before the next step (MetalLB's pool needs MetalLB's webhook running).
type Step struct {
	Name    string
	Objects []Object
}

// Steps of an addon plan, in order.
const (
	StepCalico       = "calico"
	StepLoadBalancer = "load-balancer"
	StepPool         = "load-balancer-pool"
	StepIngress      = "ingress"
	StepPolicies     = "policies"
)

// Build turns the manifests (by the names of Needs) into the steps kprov
// applies. Manifests that use APIs the cluster's Kubernetes removed are
// refused here, before anything is applied.
func Build(c *spec.Cluster, manifests map[string]Manifest) ([]Step, error) {
	decoded := map[string][]Object{}
	var errs []error
	for _, w := range Needs(c) {
		m, ok := manifests[w.Name]
		if !ok {
			return nil, fmt.Errorf("%s (%s) was not fetched", w.Name, w.Source)
		}
		objs, err := Decode(m.Source, m.Data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, CheckAPIs(m.Source, objs, c.KubernetesVersion)...)
		decoded[w.Name] = objs
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	calico := decoded[CalicoManifest]
	if err := PatchCalico(manifests[CalicoManifest].Source, calico, CalicoOf(c)); err != nil {
		return nil, err
	}
	steps := []Step{{StepCalico, calico}}
	if in := IngressOf(c); in != nil {
		if lb, ok := decoded[LoadBalancerManifest]; ok {
			steps = append(steps, Step{StepLoadBalancer, lb}, Step{StepPool, MetalLBPool(in.Addresses)})
		}
		source, objs := manifests[IngressManifest].Source, decoded[IngressManifest]
		if t := TraefikOf(c); t != nil {
			var err error
			source = "traefik " + t.Version
			objs, err = TraefikObjects(manifests[IngressCRDsManifest].Source, decoded[IngressCRDsManifest],
				manifests[IngressRBACManifest].Source, decoded[IngressRBACManifest], *t)
			if err != nil {
				return nil, err
			}
		}
		objs, err := PatchIngress(source, objs, *in)
		if err != nil {
			return nil, err
		}
		steps = append(steps, Step{StepIngress, objs})
	}
	pol, err := Policies(PolicyOf(c))
	if err != nil {
		return nil, err
	}
	if len(pol) > 0 {
		steps = append(steps, Step{StepPolicies, pol})
	}
	return steps, nil
}

// PolicyOf reads the policy settings of a normalized spec. The global
// default deny exempts the system namespaces, the ingress's and MetalLB's,
// and those the spec lists.
func PolicyOf(c *spec.Cluster) Policy {
	np := c.NetworkPolicy
	if np == nil {
		return Policy{}
	}
	exempt := append([]string{}, spec.SystemNamespaces...)
	if c.Ingress != nil {
		exempt = append(exempt, c.Ingress.Namespace)
		if c.Ingress.LoadBalancer == "metallb" {
			exempt = append(exempt, MetalLBNamespace)
		}
	}
	exempt = append(exempt, np.ExemptNamespaces...)
	return Policy{Namespaces: np.DefaultDenyNamespaces, DenyEgress: np.DenyEgress, Global: np.GlobalDefaultDeny, Exempt: dedupe(exempt)}
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
