package cli

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/addonsrun"
	"github.com/kprov/kprov/bootstrap/binaries"
	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/provision/spec"
)

// checkManifests runs render's checks on the manifests the spec names by
// local path: the sha256 the spec or kprov.lock.hcl pins, APIs the
// cluster's Kubernetes removed, Calico's image tags against
// calico.version, and the ingress Service. Each problem is a diagnostic at
// the attribute it concerns. Manifests named by URL are not fetched:
// render and up check them.
func checkManifests(ctx context.Context, c *spec.Cluster, specPath string) hcl.Diagnostics {
	lock, err := lockfile.Load(lockfile.Path(specPath))
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the lock file",
			Detail: err.Error() + ". Fix or remove it: kprov records the sums again on the next render or up."}}
	}
	pins := map[string]binaries.Pin{}
	for _, p := range binaries.Expect(binaries.Pins(c), lock) {
		pins[p.Name] = p
	}
	var diags hcl.Diagnostics
	add := func(sev hcl.DiagnosticSeverity, at *hcl.Range, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: at})
	}
	// attr is where a problem about one attribute points: the first of
	// names the spec writes, else the manifest attribute.
	attr := func(w addons.Wanted, body hcl.Body, names ...string) *hcl.Range {
		for _, n := range names {
			if spec.Written(body, n) {
				return c.At(body, n)
			}
		}
		return c.At(w.Body, w.Attr)
	}
	for _, w := range addons.Needs(c) {
		if addonsrun.IsURL(w.Source) {
			continue
		}
		at := c.At(w.Body, w.Attr)
		p := pins[w.Name]
		m, _, err := addonsrun.Fetch(ctx, w.Source, filepath.Dir(specPath), p.SHA256, string(p.Origin))
		var se *addonsrun.SumError
		switch {
		case errors.As(err, &se):
			add(hcl.DiagError, at, "Manifest does not match its pin", err.Error())
			continue
		case err != nil:
			add(hcl.DiagError, at, "Cannot read manifest", err.Error()+". render and up read the manifest from this path: put it there, or name another.")
			continue
		}
		objs, errs := addons.Check(c, w.Name, m)
		for _, err := range errs {
			var de *addons.DecodeError
			var re *addons.RemovedAPIError
			var ve *addons.VersionError
			switch {
			case errors.As(err, &de):
				add(hcl.DiagError, at, "Manifest does not decode", err.Error())
			case errors.As(err, &re):
				add(hcl.DiagError, at, "Manifest uses a removed API", err.Error())
			case errors.As(err, &ve):
				add(hcl.DiagError, attr(w, c.Calico.Body, "version"), "Calico version differs from the manifest", err.Error())
			default:
				add(hcl.DiagError, at, "Manifest check failed", err.Error())
			}
		}
		if w.Name != addons.IngressManifest || len(errs) > 0 {
			continue
		}
		_, warnings, err := addons.PatchIngress(m.Source, objs, *addons.IngressOf(c))
		where := attr(w, c.Ingress.Body, "service_name", "namespace")
		if err != nil {
			add(hcl.DiagError, where, "Ingress Service not found", err.Error())
		}
		for _, warning := range warnings {
			add(hcl.DiagWarning, where, "Ingress Service found by its selector", warning)
		}
	}
	return diags
}
