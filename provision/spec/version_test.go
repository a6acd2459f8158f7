package spec

import (
	"strings"
	"testing"
)

// ParseVersion takes an exact release with or without its v and refuses
// anything that is not one; String gives kubeadm's v form.
func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		in, want string
		minor    uint
	}{
		{"1.30.14", "v1.30.14", 30},
		{"v1.30.14", "v1.30.14", 30},
		{"v1.31.0-rc.1", "v1.31.0-rc.1", 31},
		{"1.21.14+kprov.1", "v1.21.14+kprov.1", 21},
	} {
		v, err := ParseVersion(c.in)
		if err != nil || !v.Valid() || v.Err() != nil {
			t.Errorf("ParseVersion(%q): %v", c.in, err)
			continue
		}
		if v.String() != c.want || v.Major() != 1 || v.Minor() != c.minor {
			t.Errorf("ParseVersion(%q) = %s (1.%d), want %s (1.%d)", c.in, v, v.Minor(), c.want, c.minor)
		}
	}
	for _, in := range []string{"1.30", "latest", "", "v", "v1", " 1.30.14", "1.30.14\n", "01.30.14"} {
		v, err := ParseVersion(in)
		if err == nil || v.Valid() || v.Err() == nil {
			t.Errorf("ParseVersion(%q) = %s, %v; want an error", in, v, err)
			continue
		}
		if v.String() != in || v.Minor() != 0 || v.AtLeast(MinKubernetes) || v.Before(MaxKubernetes) || v.Supported() {
			t.Errorf("ParseVersion(%q): not a release, yet %q, 1.%d, at least or before a gate", in, v, v.Minor())
		}
	}
	if (Version{}).Err() == nil {
		t.Error("the zero Version has no Err")
	}
}

// Gates compare by numbers: a pre-release of 1.31.0 is at least 1.31.
func TestVersionGates(t *testing.T) {
	for _, c := range []struct {
		in              string
		atLeast, before bool
		supported       bool
	}{
		{"v1.30.14", false, true, true},
		{"v1.31.0-rc.1", true, false, true},
		{"v1.31.0", true, false, true},
		{"v1.37.2", true, false, true},
		{"v1.20.15", false, true, false},
		{"v1.38.0", true, false, false},
		{"v2.0.0", true, false, false},
	} {
		v, err := ParseVersion(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if v.AtLeast(NFTablesKubeProxy) != c.atLeast || v.Before(NFTablesKubeProxy) != c.before || v.Supported() != c.supported {
			t.Errorf("%s: AtLeast(1.31) %v, Before(1.31) %v, Supported %v; want %v, %v, %v",
				c.in, v.AtLeast(NFTablesKubeProxy), v.Before(NFTablesKubeProxy), v.Supported(), c.atLeast, c.before, c.supported)
		}
	}
}

// Normalize parses kubernetes_version once; a cluster not normalized, or
// whose version changed since, is parsed on the spot.
func TestClusterKubernetes(t *testing.T) {
	c := &Cluster{Name: "x", KubernetesVersion: "1.30.14", NodePools: []*NodePool{{Name: "cp", Role: RoleControlPlane}}}
	if got := c.Kubernetes().String(); got != "v1.30.14" {
		t.Errorf("before Normalize: %q", got)
	}
	if err := Normalize(c); err != nil {
		t.Fatal(err)
	}
	if !c.kube.Valid() || c.kube.written != "v1.30.14" {
		t.Errorf("Normalize kept %+v", c.kube)
	}
	if got := c.Kubernetes(); got != c.kube {
		t.Errorf("Kubernetes() = %+v, want the value Normalize parsed", got)
	}
	c.KubernetesVersion = "v1.37.2"
	if got := c.Kubernetes(); got.String() != "v1.37.2" || got.Minor() != 37 {
		t.Errorf("after a change: %s", got)
	}
	c.KubernetesVersion = "latest"
	if got := c.Kubernetes(); got.Valid() || !strings.Contains(got.Err().Error(), "latest") {
		t.Errorf("latest: %s, %v", got, got.Err())
	}
	d := &Cluster{Name: "x", NodePools: []*NodePool{{Name: "cp", Role: RoleControlPlane}}}
	if err := Normalize(d); err != nil {
		t.Fatal(err)
	}
	if got := d.Kubernetes().String(); got != DefaultKubernetesVersion {
		t.Errorf("default: %s, want %s", got, DefaultKubernetesVersion)
	}
}

// The validation messages of a kubernetes_version that does not parse: an
// unquoted number (HCL reads 1.30 as the number 1.3), a floating name, a
// bare v and spaces.
func TestKubernetesVersionMessages(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{`1.30`, `kubernetes_version = 1.3 is a number, which cannot name a release: quote an exact release, such as kubernetes_version = "1.21.14".`},
		{`"1.30"`, `"1.30" is not an exact release such as "1.21.14". kprov pins exact versions so builds are reproducible.`},
		{`"latest"`, `"latest" is not an exact release such as "1.21.14". kprov pins exact versions so builds are reproducible.`},
		{`"v"`, `"v" is not an exact release such as "1.21.14". kprov pins exact versions so builds are reproducible.`},
		{`" 1.30.14"`, `" 1.30.14" is not an exact release such as "1.21.14". kprov pins exact versions so builds are reproducible.`},
		{`"1.20.15"`, `kprov builds Kubernetes 1.21 to 1.37; v1.20.15 is outside that range.`},
	} {
		src := "cluster \"a\" {\n  kubernetes_version = " + c.value + "\n  image { source = \"/i.qcow2\" }\n  node_pool \"cp\" { role = \"control-plane\" }\n}\n"
		_, diags := NewLoader().Load("v.hcl", []byte(src))
		var got []string
		for _, d := range diags {
			if d.Subject != nil && d.Subject.Start.Line == 2 {
				got = append(got, d.Detail)
			}
		}
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("kubernetes_version = %s: %q, want %q", c.value, got, c.want)
		}
	}
}
