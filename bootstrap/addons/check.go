package addons

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kprov/kprov/provision/spec"
)

// Check decodes the manifest a spec needs under name (see Needs) and runs
// the checks that need it alone: APIs the cluster's Kubernetes removed and,
// for Calico, its images against calico.version. Build and validate both
// run it.
func Check(c *spec.Cluster, name string, m Manifest) ([]Object, []error) {
	objs, err := Decode(m.Source, m.Data)
	if err != nil {
		return nil, []error{err}
	}
	errs := CheckAPIs(m.Source, objs, c.Kubernetes())
	if name == CalicoManifest {
		if err := CheckCalicoVersion(m.Source, objs, c.Calico.Version); err != nil {
			errs = append(errs, err)
		}
	}
	return objs, errs
}

// calicoImages are the repositories whose tag is the Calico release.
var calicoImages = []string{"calico/node", "calico/cni", "calico/kube-controllers"}

// VersionError says a Calico manifest's images are of another release than
// the spec's calico.version.
type VersionError struct {
	Source, Version string
	// Images are the differing image references, once each, in manifest order.
	Images []string
}

func (e *VersionError) Error() string {
	hint := fmt.Sprintf("Name the manifest of Calico %s", e.Version)
	if tag := imageTag(e.Images[0]); tag != "" {
		hint = fmt.Sprintf("Set calico.version = %q to match the manifest, or name the manifest of %s", tag, e.Version)
	}
	return fmt.Sprintf("%s runs %s, but calico.version is %s. %s.", e.Source, strings.Join(e.Images, ", "), e.Version, hint)
}

// CheckCalicoVersion returns a VersionError when a calico/node, cni or
// kube-controllers image of the manifest is not tagged version (with or
// without its v).
func CheckCalicoVersion(source string, objs []Object, version string) error {
	var bad []string
	for _, image := range workloadImages(objs) {
		ref, err := name.ParseReference(image, name.WeakValidation)
		if err != nil {
			continue
		}
		repo := ref.Context().RepositoryStr()
		if !slices.ContainsFunc(calicoImages, func(c string) bool { return repo == c || strings.HasSuffix(repo, "/"+c) }) {
			continue
		}
		if strings.TrimPrefix(imageTag(image), "v") != strings.TrimPrefix(version, "v") && !slices.Contains(bad, image) {
			bad = append(bad, image)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &VersionError{Source: source, Version: version, Images: bad}
}

// imageTag is the tag of an image reference ("" for none or a digest only).
func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	ref, err := name.NewTag(image, name.WeakValidation)
	if err != nil || !strings.HasSuffix(image, ":"+ref.TagStr()) {
		return ""
	}
	return ref.TagStr()
}

// workloadImages lists the images of every DaemonSet's and Deployment's
// containers and init containers, in manifest order.
func workloadImages(objs []Object) []string {
	var out []string
	for _, o := range objs {
		var tmpl corev1.PodTemplateSpec
		switch o.GetKind() {
		case "DaemonSet":
			var d appsv1.DaemonSet
			if runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d) != nil {
				continue
			}
			tmpl = d.Spec.Template
		case "Deployment":
			var d appsv1.Deployment
			if runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d) != nil {
				continue
			}
			tmpl = d.Spec.Template
		default:
			continue
		}
		for _, c := range append(tmpl.Spec.InitContainers, tmpl.Spec.Containers...) {
			out = append(out, c.Image)
		}
	}
	return out
}
