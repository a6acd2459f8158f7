package binaries

import (
	"path"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/internal/golden"
)

func TestUnitsGolden(t *testing.T) {
	files, err := Units()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Path != KubeletUnit || files[1].Path != KubeadmDropIn {
		t.Fatalf("units %+v", files)
	}
	for _, f := range files {
		if f.Mode != 0o644 {
			t.Errorf("%s: mode %o", f.Path, f.Mode)
		}
		// No template comment and no path of the packages' layout leaks.
		if s := string(f.Content); strings.Contains(s, "{{") || strings.Contains(s, "/usr/bin/") || strings.Contains(s, "sysconfig") || strings.HasPrefix(s, "\n") {
			t.Errorf("%s:\n%s", f.Path, s)
		}
		golden.Assert(t, "units/"+path.Base(f.Path), f.Content)
	}
	if !strings.Contains(string(files[1].Content), "ExecStart=\nExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS") {
		t.Errorf("the drop-in must reset ExecStart, then run %s/kubelet:\n%s", BinDir, files[1].Content)
	}
}

// TestCrictlFileGolden: /etc/crictl.yaml points crictl at the socket
// kubeadm is given, for runtime and images, with a timeout a busy node
// meets.
func TestCrictlFileGolden(t *testing.T) {
	f, err := CrictlFile()
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != "/etc/crictl.yaml" || f.Mode != 0o644 {
		t.Errorf("crictl config at %s mode %o", f.Path, f.Mode)
	}
	if ContainerdSocket != kubeadm.CRISocket {
		t.Errorf("crictl uses %s, kubeadm %s", ContainerdSocket, kubeadm.CRISocket)
	}
	want := "image-endpoint: " + kubeadm.CRISocket + "\nruntime-endpoint: " + kubeadm.CRISocket + "\ntimeout: 60\n"
	if string(f.Content) != want {
		t.Errorf("crictl.yaml:\n%s\nwant:\n%s", f.Content, want)
	}
	golden.Assert(t, "crictl.yaml", f.Content)
}
