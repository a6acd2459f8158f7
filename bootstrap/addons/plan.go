package addons

import (
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2"

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
	// Body and Attr are the spec block and attribute that name Source,
	// where diagnostics about the manifest point.
	Body hcl.Body
	Attr string
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
	w := []Wanted{{CalicoManifest, c.Calico.Manifest, c.Calico.SHA256, c.Calico.Body, "manifest"}}
	if in := c.Ingress; in != nil {
		if in.LoadBalancer == "metallb" {
			w = append(w, Wanted{LoadBalancerManifest, in.LoadBalancerManifest, in.LoadBalancerSHA256, in.Body, "load_balancer_manifest"})
		}
		if in.Controller == spec.ControllerTraefik {
			w = append(w, Wanted{IngressCRDsManifest, in.CRDsManifest, in.CRDsSHA256, in.Body, "crds_manifest"},
				Wanted{IngressRBACManifest, in.RBACManifest, in.RBACSHA256, in.Body, "rbac_manifest"})
		} else {
			w = append(w, Wanted{IngressManifest, in.Manifest, in.SHA256, in.Body, "manifest"})
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
	// Warnings say what kprov chose for the user while building the step
	// (the ingress Service it found by its selector).
	Warnings []string
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
		objs, cerrs := Check(c, w.Name, m)
		errs = append(errs, cerrs...)
		decoded[w.Name] = objs
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	calico := decoded[CalicoManifest]
	if err := PatchCalico(manifests[CalicoManifest].Source, calico, CalicoOf(c)); err != nil {
		return nil, err
	}
	steps := []Step{{StepCalico, calico, nil}}
	if in := IngressOf(c); in != nil {
		if lb, ok := decoded[LoadBalancerManifest]; ok {
			steps = append(steps, Step{StepLoadBalancer, lb, nil}, Step{StepPool, MetalLBPool(in.Addresses), nil})
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
		objs, warnings, err := PatchIngress(source, objs, *in)
		if err != nil {
			return nil, err
		}
		steps = append(steps, Step{StepIngress, objs, warnings})
	}
	pol, err := Policies(PolicyOf(c))
	if err != nil {
		return nil, err
	}
	if len(pol) > 0 {
		steps = append(steps, Step{StepPolicies, pol, nil})
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
