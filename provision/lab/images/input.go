package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ParseImageList reads the images to provide from JSON: the output of
// `kprov images FILE -o json` (a list of {"image": REF, ...}, or an object
// whose "images" is that list) or a plain list of references.
func ParseImageList(b []byte) ([]string, error) {
	var wrapped struct {
		Images json.RawMessage `json:"images"`
	}
	if json.Unmarshal(b, &wrapped) == nil && wrapped.Images != nil {
		b = wrapped.Images
	}
	var plain []string
	if err := json.Unmarshal(b, &plain); err == nil {
		return plain, nil
	}
	var objs []map[string]any
	if err := json.Unmarshal(b, &objs); err != nil {
		return nil, fmt.Errorf("not a list of images (kprov images FILE -o json): %w", err)
	}
	var out []string
	for i, o := range objs {
		ref, ok := o["image"].(string)
		if !ok {
			ref, ok = o["ref"].(string)
		}
		if !ok || ref == "" {
			return nil, fmt.Errorf("entry %d has no \"image\" string", i+1)
		}
		out = append(out, ref)
	}
	return out, nil
}

// Select is the recipes of wanted, in the recipes' order (Kubernetes
// first); an image without a recipe is an error naming it.
func Select(all []recipe, wanted []string) ([]recipe, error) {
	byRef := map[string]recipe{}
	for _, r := range all {
		ref, err := ParseRef(r.ref)
		if err != nil {
			return nil, err
		}
		byRef[ref.String()] = r
	}
	want := map[string]bool{}
	var missing []string
	for _, w := range wanted {
		ref, err := ParseRef(w)
		if err != nil {
			return nil, err
		}
		if _, ok := byRef[ref.String()]; !ok {
			missing = append(missing, w)
			continue
		}
		want[ref.String()] = true
	}
	if len(missing) > 0 {
		known := make([]string, 0, len(all))
		for _, r := range all {
			known = append(known, r.ref)
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("no recipe for %s: the lab builds only %s; add a recipe in provision/lab/images (set.go, calico.go)",
			strings.Join(missing, ", "), strings.Join(known, ", "))
	}
	var out []recipe
	for _, r := range all {
		ref, _ := ParseRef(r.ref)
		if want[ref.String()] {
			out = append(out, r)
		}
	}
	return out, nil
}
