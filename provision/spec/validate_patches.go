package spec

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// patchRest is what follows the target in kubeadm's patch file name
// TARGET[SUFFIX][+TYPE].EXTENSION (cmd/kubeadm/app/util/patches).
var patchRest = regexp.MustCompile(`^[^.+/]*(\+(strategic|merge|json))?\.(yaml|json)$`)

// maxPatch bounds one patch's size: patches are small documents.
const maxPatch = 64 << 10

func (v *validator) patches() {
	k := v.c.Kubeadm
	if len(k.Patches) == 0 {
		return
	}
	at := v.at(k.Body, "patches")
	kv := v.c.Kubernetes()
	if kv.Before(KubeadmV1beta3) {
		v.errorf(at, "kubeadm patches need Kubernetes 1.22 or later",
			"kubeadm %s's configuration (v1beta2) has no patches field. Remove kubeadm { patches }, or use Kubernetes 1.22 or later.", v.c.KubernetesVersion)
		return
	}
	known := slices.Sorted(maps.Keys(patchTargets))
	for _, name := range slices.Sorted(maps.Keys(k.Patches)) {
		at := v.elem(k.Body, "patches", -1, name)
		// The target is the longest known name the file starts with.
		target := ""
		for _, t := range known {
			if strings.HasPrefix(name, t) && len(t) > len(target) {
				target = t
			}
		}
		since, ok := patchTargets[target]
		switch {
		case !ok || !patchRest.MatchString(strings.TrimPrefix(name, target)):
			v.errorf(at, "Invalid kubeadm patch name",
				"%q: name a patch TARGET[SUFFIX][+TYPE].yaml (or .json), TARGET one of %s and TYPE strategic (the default), merge or json, such as \"kube-apiserver+strategic.yaml\".",
				name, strings.Join(known, ", "))
			continue
		case kv.Before(since):
			v.errorf(at, "kubeadm patch target too new",
				"%q: kubeadm %s does not patch %s (it can from Kubernetes %s).", name, v.c.KubernetesVersion, target, since)
			continue
		}
		body := k.Patches[name]
		if len(body) > maxPatch {
			v.errorf(at, "kubeadm patch too large", "%q is %d bytes; a patch is a small document (at most %d bytes).", name, len(body), maxPatch)
			continue
		}
		for i, doc := range strings.Split(body, "\n---") {
			if strings.TrimSpace(doc) == "" {
				if i == 0 && strings.TrimSpace(body) == "" {
					v.errorf(at, "Empty kubeadm patch", "%q is empty: write the patch, or remove the entry.", name)
				}
				continue
			}
			if _, err := yaml.YAMLToJSON([]byte(doc)); err != nil {
				v.errorf(at, "Invalid kubeadm patch", "%q, document %d: %v.", name, i+1, err)
			}
		}
	}
}
