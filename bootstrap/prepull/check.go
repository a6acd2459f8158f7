package prepull

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kprov/kprov/bootstrap/images"
)

// DigestError is a node whose image is not the one kprov.lock.hcl pins.
type DigestError struct {
	Node, Image, Got, Pinned string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("node %s: %s is %s there, but kprov.lock.hcl pins %s: the tag now names other content. "+
		"If the change is intended, run without --locked to record it; else restore the pinned image in the registry (kprov mirror copies it)",
		e.Node, e.Image, e.Got, e.Pinned)
}

// Check compares what the nodes pulled with the pins of imgs. Every node
// must hold the same digest for an image (else an error naming them). An
// image without a pin gets the nodes' digest (refused when locked); a pinned image whose digest
// changed is a *DigestError when locked, else a warning and a new pin.
// It returns the pins to record.
func Check(results []Result, imgs []images.Image, locked bool) (pins map[string]string, warnings []string, err error) {
	pins = map[string]string{}
	for _, img := range imgs {
		byDigest := map[string][]string{}
		for _, r := range results {
			if d, ok := r.Digests[img.Ref]; ok {
				byDigest[d] = append(byDigest[d], r.Node)
			}
		}
		if len(byDigest) > 1 {
			var parts []string
			for d, nodes := range byDigest {
				parts = append(parts, fmt.Sprintf("%s on %s", d, strings.Join(nodes, ", ")))
			}
			sort.Strings(parts)
			return nil, nil, fmt.Errorf("%s resolved to different content on different nodes (%s): the registry changed the tag during the pull; run again", img.Ref, strings.Join(parts, "; "))
		}
		for d, nodes := range byDigest {
			switch {
			case img.Digest == "" && locked:
				return nil, nil, fmt.Errorf("%s is not pinned in kprov.lock.hcl (the nodes pulled %s): --locked accepts only pinned images; run without --locked once to record it", img.Ref, d)
			case img.Digest == "" || img.Digest == d:
				pins[img.Ref] = d
			case locked:
				sort.Strings(nodes)
				return nil, nil, &DigestError{Node: nodes[0], Image: img.Ref, Got: d, Pinned: img.Digest}
			default:
				warnings = append(warnings, fmt.Sprintf("%s changed: kprov.lock.hcl pinned %s, the nodes pulled %s; the lock now pins the new digest", img.Ref, img.Digest, d))
				pins[img.Ref] = d
			}
		}
	}
	return pins, warnings, nil
}
