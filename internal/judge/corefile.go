package judge

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"
)

// KubeadmCorefile is the Corefile the real kubeadm of version writes: its
// CoreDNSConfigMap template, read from the Kubernetes module on the Go
// module proxy and filled in as kubeadm fills it.
func KubeadmCorefile(t testing.TB, version string) string {
	t.Helper()
	_, src := FromProxy(t, Module{Path: "k8s.io/kubernetes", Version: version, File: "cmd/kubeadm/app/phases/addons/dns/manifests.go"})
	f, err := parser.ParseFile(token.NewFileSet(), "manifests.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var tmpl string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name == "CoreDNSConfigMap" {
			tmpl, _ = strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
		}
		return tmpl == ""
	})
	if tmpl == "" {
		t.Fatalf("kubeadm %s: no CoreDNSConfigMap template", version)
	}
	var buf bytes.Buffer
	if err := template.Must(template.New("cm").Parse(tmpl)).Execute(&buf, map[string]string{"DNSDomain": "cluster.local"}); err != nil {
		t.Fatal(err)
	}
	var cm struct{ Data map[string]string }
	if err := yaml.Unmarshal(buf.Bytes(), &cm); err != nil || cm.Data["Corefile"] == "" {
		t.Fatalf("kubeadm %s: ConfigMap: %v", version, err)
	}
	return cm.Data["Corefile"]
}
