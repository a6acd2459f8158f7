package addons

import (
	"fmt"
	"strings"

	"github.com/kprov/kprov/provision/spec"
)

// removedIn lists API versions Kubernetes removed, by group/version (all
// kinds) or group/version/kind, with the minor that removed them. From
// Kubernetes' deprecated API migration guide.
var removedIn = map[string]int{
	"extensions/v1beta1": 16, "apps/v1beta1": 16, "apps/v1beta2": 16,
	"apiextensions.k8s.io/v1beta1":         22,
	"rbac.authorization.k8s.io/v1beta1":    22,
	"admissionregistration.k8s.io/v1beta1": 22,
	"apiregistration.k8s.io/v1beta1":       22,
	"authentication.k8s.io/v1beta1":        22,
	"authorization.k8s.io/v1beta1":         22,
	"certificates.k8s.io/v1beta1":          22,
	"coordination.k8s.io/v1beta1":          22,
	"scheduling.k8s.io/v1beta1":            22,
	"networking.k8s.io/v1beta1":            22,
	"storage.k8s.io/v1beta1/CSIDriver":     22, "storage.k8s.io/v1beta1/CSINode": 22,
	"storage.k8s.io/v1beta1/StorageClass": 22, "storage.k8s.io/v1beta1/VolumeAttachment": 22,
	"storage.k8s.io/v1beta1/CSIStorageCapacity": 27,
	"policy/v1beta1":                       25,
	"batch/v1beta1":                        25,
	"discovery.k8s.io/v1beta1":             25,
	"events.k8s.io/v1beta1":                25,
	"autoscaling/v2beta1":                  25,
	"autoscaling/v2beta2":                  26,
	"flowcontrol.apiserver.k8s.io/v1beta1": 26,
	"flowcontrol.apiserver.k8s.io/v1beta2": 29,
	"flowcontrol.apiserver.k8s.io/v1beta3": 32,
}

// RemovedAPIError says a manifest uses an API version the cluster's
// Kubernetes no longer serves: applying it would fail half-way.
type RemovedAPIError struct {
	Source            string
	APIVersion        string
	RemovedIn         int
	Objects           []string // kind name, in manifest order
	KubernetesVersion string
}

func (e *RemovedAPIError) Error() string {
	first := e.Objects[0]
	if n := len(e.Objects) - 1; n > 0 {
		first += fmt.Sprintf(" and %d more", n)
	}
	return fmt.Sprintf("%s: %s uses %s, which Kubernetes removed in 1.%d; this cluster runs %s. Use a manifest made for Kubernetes 1.%d or later, or kubernetes_version below 1.%d.",
		e.Source, first, e.APIVersion, e.RemovedIn, e.KubernetesVersion, e.RemovedIn, e.RemovedIn)
}

// CheckAPIs returns one RemovedAPIError per removed API version the
// objects of a manifest use on Kubernetes release v.
func CheckAPIs(source string, objs []Object, v spec.Version) []error {
	if !v.Valid() {
		return []error{fmt.Errorf("kubernetes version %q: %w", v, v.Err())}
	}
	byAPI := map[string]*RemovedAPIError{}
	var errs []error
	for _, o := range objs {
		api := o.GetAPIVersion()
		minor, ok := removedIn[api+"/"+o.GetKind()]
		if !ok {
			minor, ok = removedIn[api]
		}
		if !ok || int(v.Minor()) < minor {
			continue
		}
		e := byAPI[api]
		if e == nil {
			e = &RemovedAPIError{Source: source, APIVersion: api, RemovedIn: minor, KubernetesVersion: v.String()}
			byAPI[api] = e
			errs = append(errs, e)
		}
		e.Objects = append(e.Objects, strings.TrimSpace(o.GetKind()+" "+o.GetName()))
	}
	return errs
}
