package virt

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/digitalocean/go-libvirt"
)

// fake is an in-memory libvirtd behind the client interface: networks,
// dir pools with their volumes' bytes, domains with XML and state. It
// answers as libvirtd does where kprov looks (libvirt.Error codes for
// missing objects, refusals to start what runs), records every changing
// call and fails the calls a test names (fail).
type fake struct {
	mu    sync.Mutex
	nets  map[string]*fakeNet
	pools map[string]*fakePool
	doms  map[string]*fakeDom
	// changes are the changing calls made, "Method object", in order.
	changes []string
	rules   []*rule
	closed  bool
	// validating counts validated domain defines in flight; overlaps,
	// those that began while another ran.
	validating, overlaps atomic.Int32
}

type fakeNet struct {
	xml             string
	active, autorun bool
}

type fakePool struct {
	path                   string
	built, active, autorun bool
	vols                   map[string][]byte
}

type fakeDom struct {
	xml   string
	state libvirt.DomainState
}

// rule fails calls of method on object name ("" for any): the nth
// matching call, or every one when nth is 0.
type rule struct {
	method, name string
	nth, seen    int
}

var _ client = (*fake)(nil)

func newFake() *fake {
	return &fake{nets: map[string]*fakeNet{}, pools: map[string]*fakePool{}, doms: map[string]*fakeDom{}}
}

// fail makes the nth call of method on name fail (every call when nth is
// 0; any object when name is "").
func (f *fake) fail(method, name string, nth int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{method: method, name: name, nth: nth})
}

// heal drops every injected failure.
func (f *fake) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// mutations is how many changing calls were made so far.
func (f *fake) mutations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.changes)
}

// call checks the rules for method on name and records a changing call.
// The caller holds f.mu.
func (f *fake) call(method, name string, changing bool) error {
	if f.closed {
		return fmt.Errorf("fake libvirt: %s %s: connection closed", method, name)
	}
	if changing {
		f.changes = append(f.changes, method+" "+name)
	}
	for _, r := range f.rules {
		if r.method != method || (r.name != "" && r.name != name) {
			continue
		}
		r.seen++
		if r.nth == 0 || r.nth == r.seen {
			return libvirt.Error{Code: uint32(libvirt.ErrInternalError), Message: fmt.Sprintf("injected failure of %s %s", method, name)}
		}
	}
	return nil
}

func lverr(code libvirt.ErrorNumber, format string, args ...any) error {
	return libvirt.Error{Code: uint32(code), Message: fmt.Sprintf(format, args...)}
}

// dump is the whole host, one sorted line per object.
func (f *fake) dump() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n, v := range f.nets {
		out = append(out, fmt.Sprintf("network %s active=%t autostart=%t xml=%x", n, v.active, v.autorun, sum(v.xml)))
	}
	for n, p := range f.pools {
		out = append(out, fmt.Sprintf("pool %s %s built=%t active=%t autostart=%t", n, p.path, p.built, p.active, p.autorun))
		for v, b := range p.vols {
			out = append(out, fmt.Sprintf("volume %s/%s %d bytes %x", n, v, len(b), sum(string(b))))
		}
	}
	for n, d := range f.doms {
		out = append(out, fmt.Sprintf("domain %s %s xml=%x", n, stateName(d.state), sum(d.xml)))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// sum is a short checksum for dump lines.
func sum(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func (f *fake) ConnectGetCapabilities() (string, error) {
	return `<capabilities><host><secmodel><model>dac</model><doi>0</doi>` +
		`<baselabel type='kvm'>+64055:+994</baselabel><baselabel type='qemu'>+64055:+994</baselabel></secmodel></host></capabilities>`, nil
}

func (f *fake) ConnectGetDomainCapabilities(_, _, _, _ libvirt.OptString, _ libvirt.ConnectGetDomainCapabilitiesFlags) (string, error) {
	return "<domainCapabilities><domain>kvm</domain></domainCapabilities>", nil
}

func (f *fake) ConnectGetLibVersion() (uint64, error) { return 9_000_000, nil }

func (f *fake) ConnectListAllDomains(int32, libvirt.ConnectListAllDomainsFlags) ([]libvirt.Domain, uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ConnectListAllDomains", "", false); err != nil {
		return nil, 0, err
	}
	var out []libvirt.Domain
	for n := range f.doms {
		out = append(out, libvirt.Domain{Name: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, uint32(len(out)), nil
}

func (f *fake) Disconnect() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fake) IsConnected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.closed
}
