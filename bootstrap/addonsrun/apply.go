package addonsrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/dynamic"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/internal/retry"
)

// Result counts what an apply did.
type Result struct {
	Created, Changed, Unchanged int
	// Names of created or changed objects, in apply order.
	Touched []string
}

func (r *Result) add(o Result) {
	r.Created += o.Created
	r.Changed += o.Changed
	r.Unchanged += o.Unchanged
	r.Touched = append(r.Touched, o.Touched...)
}

// ObjectError names the object the API server refused, and says why.
type ObjectError struct {
	Step, Object string
	Err          error
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("%s: apply %s: %v", e.Step, e.Object, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// Step applies one step: namespaces and CRDs first, then (once the CRDs
// are Established) the rest in manifest order; then it waits until the
// step's DaemonSets and Deployments have rolled out.
func (c *Client) Step(ctx context.Context, s addons.Step) (Result, error) {
	var first, crds, rest []addons.Object
	for _, o := range s.Objects {
		switch o.GetKind() {
		case "Namespace":
			first = append(first, o)
		case "CustomResourceDefinition":
			crds = append(crds, o)
		default:
			rest = append(rest, o)
		}
	}
	var res Result
	// CRDs do not depend on each other: apply them side by side, as a
	// slow API server takes seconds for each (Calico has 20).
	for _, g := range []struct {
		objs []addons.Object
		n    int
	}{{first, 1}, {crds, crdParallel}} {
		r, err := c.objects(ctx, s.Name, g.objs, g.n)
		res.add(r)
		if err != nil {
			return res, err
		}
	}
	if len(crds) > 0 {
		if err := c.established(ctx, s.Name, crds); err != nil {
			return res, err
		}
		c.Mapper.Reset()
	}
	r, err := c.objects(ctx, s.Name, rest, 1)
	res.add(r)
	if err != nil {
		return res, err
	}
	return res, c.rollouts(ctx, s.Name, rest)
}

// crdParallel is how many CRDs are applied at once.
const crdParallel = 8

// objects applies objs, n at a time (1: in order, stopping at the first
// error); the result lists them in objs' order either way.
func (c *Client) objects(ctx context.Context, step string, objs []addons.Object, n int) (Result, error) {
	type out struct {
		before, after string
		err           error
		done          bool
	}
	outs := make([]out, len(objs))
	if n <= 1 {
		for i, o := range objs {
			b, a, err := c.applyOne(ctx, o)
			outs[i] = out{b, a, err, true}
			if err != nil {
				break
			}
		}
	} else {
		var wg sync.WaitGroup
		sem := make(chan struct{}, n)
		for i, o := range objs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				b, a, err := c.applyOne(ctx, o)
				outs[i] = out{b, a, err, true}
			}()
		}
		wg.Wait()
	}
	var res Result
	for i, o := range outs {
		if !o.done {
			break
		}
		if o.err != nil {
			return res, &ObjectError{Step: step, Object: addons.Ref(objs[i]), Err: o.err}
		}
		switch {
		case o.before == "":
			res.Created++
			res.Touched = append(res.Touched, "created "+addons.Ref(objs[i]))
		case o.before != o.after:
			res.Changed++
			res.Touched = append(res.Touched, "changed "+addons.Ref(objs[i]))
		default:
			res.Unchanged++
		}
	}
	return res, nil
}

// resource finds the API resource of o; after CRDs are added the mapper
// may need one refresh.
func (c *Client) resource(o addons.Object) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.Mapper.Reset()
		m, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the API server does not serve %s %s: is the manifest made for this Kubernetes version?", gvk.GroupVersion(), gvk.Kind)
		}
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := o.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		return c.Dynamic.Resource(m.Resource).Namespace(ns), nil
	}
	return c.Dynamic.Resource(m.Resource), nil
}

// applyOne applies o, and again while the failure is one that passes: an
// admission webhook whose pod has only just started (seen on the lab:
// MetalLB's refused connections seconds after its controller was
// available), an API server that timed out, is overloaded or restarts.
// It tries for the rollout timeout at most, then says how long it tried.
func (c *Client) applyOne(ctx context.Context, o addons.Object) (before, after string, err error) {
	tctx, cancel := context.WithTimeout(ctx, c.RolloutTimeout)
	defer cancel()
	err = retry.Do(tctx, retry.Every(c.Poll), 0, func(ctx context.Context) error {
		var err error
		before, after, err = c.one(ctx, o)
		if err != nil && !Passing(err) {
			return retry.Stop(err)
		}
		return err
	})
	var gave *retry.Error
	switch {
	case !errors.As(err, &gave):
		return before, after, err
	case ctx.Err() != nil:
		return "", "", ctx.Err()
	}
	return "", "", fmt.Errorf("still failing after %s of tries: %w", c.RolloutTimeout, gave.Last)
}

// Passing says whether an apply's error is one that passes by itself.
func Passing(err error) bool {
	switch {
	case apierrors.IsInternalError(err) && strings.Contains(err.Error(), "failed calling webhook"),
		apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsServiceUnavailable(err),
		utilnet.IsConnectionRefused(err), utilnet.IsConnectionReset(err), utilnet.IsProbableEOF(err):
		return true
	}
	return false
}

// one server-side applies o and returns its resourceVersion before ("" if
// it did not exist) and after: the same version means nothing changed.
func (c *Client) one(ctx context.Context, o addons.Object) (before, after string, err error) {
	r, err := c.resource(o)
	if err != nil {
		return "", "", err
	}
	cur, err := r.Get(ctx, o.GetName(), metav1.GetOptions{})
	switch {
	case err == nil:
		before = cur.GetResourceVersion()
	case apierrors.IsNotFound(err):
		cur = nil
	default:
		return "", "", err
	}
	if before != "" && bare(o) {
		// Nothing to own: the API server drops a manager with no fields,
		// so applying would re-add it and bump the version every time.
		return before, before, nil
	}
	data, err := json.Marshal(o.Object)
	if err != nil {
		return "", "", err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	if cur != nil && cur.GetResourceVersion() != "" && owns(cur) {
		// Look first: a server-side dry run shows what the apply would
		// make. Older API servers (1.21) write some unchanged objects
		// anyway (a new managedFields timestamp), so skip when only that
		// would differ.
		dry := opts
		dry.DryRun = []string{metav1.DryRunAll}
		would, err := r.Patch(ctx, o.GetName(), types.ApplyPatchType, data, dry)
		if err != nil {
			return "", "", err
		}
		if sameContent(cur, would) {
			return before, before, nil
		}
	}
	got, err := r.Patch(ctx, o.GetName(), types.ApplyPatchType, data, opts)
	if err != nil {
		return "", "", err
	}
	return before, got.GetResourceVersion(), nil
}

// owns says kprov already manages fields of o with apply.
func owns(o *unstructured.Unstructured) bool {
	for _, m := range o.GetManagedFields() {
		if m.Manager == FieldManager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// sameContent compares two versions of an object but for bookkeeping:
// managedFields timestamps and the resourceVersion.
func sameContent(a, b *unstructured.Unstructured) bool {
	strip := func(o *unstructured.Unstructured) map[string]any {
		c := o.DeepCopy()
		unstructured.RemoveNestedField(c.Object, "metadata", "managedFields")
		unstructured.RemoveNestedField(c.Object, "metadata", "resourceVersion")
		return c.Object
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

// Steps applies every step in order, stopping at the first error.
func (c *Client) Steps(ctx context.Context, steps []addons.Step, progress func(step string, r Result)) (Result, error) {
	var total Result
	for _, s := range steps {
		r, err := c.Step(ctx, s)
		total.add(r)
		if progress != nil {
			progress(s.Name, r)
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// WaitError says what did not become ready in time, with its last status.
type WaitError struct {
	Step, Object, Status, Hint string
	Timeout                    time.Duration
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("%s: %s not ready after %s: %s. %s", e.Step, e.Object, e.Timeout, e.Status, e.Hint)
}

// poll calls check every Poll until it says done, ctx ends or the
// rollout timeout passes; check's last status goes into the error.
func (c *Client) poll(ctx context.Context, step, object, hint string, check func(context.Context) (bool, string, error)) error {
	ctx, cancel := context.WithTimeout(ctx, c.RolloutTimeout)
	defer cancel()
	status := "not seen yet"
	err := retry.Do(ctx, retry.Every(c.Poll), 0, func(ctx context.Context) error {
		done, s, err := check(ctx)
		switch {
		case err != nil && errors.Is(err, context.Canceled):
			return retry.Stop(err)
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			// The API server restarts now and then on a loaded control
			// plane: keep waiting, and say so if it never comes back.
			s = "last read failed: " + err.Error()
		}
		if s != "" {
			status = s
		}
		if done {
			return nil
		}
		return errors.New(status)
	})
	var gave *retry.Error
	switch {
	case !errors.As(err, &gave):
		return err // nil or the caller's end
	case errors.Is(gave.Err, context.Canceled):
		return gave.Err
	}
	return &WaitError{Step: step, Object: object, Status: status, Hint: hint, Timeout: c.RolloutTimeout}
}

// established waits until every CRD serves its kinds.
func (c *Client) established(ctx context.Context, step string, crds []addons.Object) error {
	for _, o := range crds {
		r, err := c.resource(o)
		if err != nil {
			return &ObjectError{Step: step, Object: addons.Ref(o), Err: err}
		}
		err = c.poll(ctx, step, addons.Ref(o), "The API server did not accept the definition; see its conditions with kubectl get crd -o yaml.",
			func(ctx context.Context) (bool, string, error) {
				got, err := r.Get(ctx, o.GetName(), metav1.GetOptions{})
				if err != nil {
					return false, "", err
				}
				return condition(got, "Established")
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// condition reports whether the status condition typ is True.
func condition(o *unstructured.Unstructured, typ string) (bool, string, error) {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			return m["status"] == "True", fmt.Sprintf("%s=%v (%v)", typ, m["status"], m["message"]), nil
		}
	}
	return false, typ + " condition not set", nil
}

// bare says o sets nothing but its name: a Namespace to create if
// missing, an empty Secret a controller fills (MetalLB's webhook
// certificate).
func bare(o addons.Object) bool {
	for k := range o.Object {
		if k != "apiVersion" && k != "kind" && k != "metadata" {
			return false
		}
	}
	meta, _ := o.Object["metadata"].(map[string]any)
	for k := range meta {
		if k != "name" && k != "namespace" {
			return false
		}
	}
	return true
}
