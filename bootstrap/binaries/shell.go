package binaries

import (
	"fmt"
	"strings"

	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/templates"
	"sigs.k8s.io/yaml"
)

// Bounds of one download: curl gives up on a connection after 10 s and on a
// transfer after 10 minutes, and retries transient failures 5 times.
const curlFlags = "--fail --silent --show-error --location --globoff --proto '=http,https' --proto-redir '=http,https' " +
	"--retry 5 --retry-delay 2 --retry-connrefused --connect-timeout 10 --max-time 600"

// Install is the command that puts b on a node with sha256 sum. It looks
// first: a file at b.Path with that sum is left alone. Otherwise it
// downloads to a temporary name in the same folder, checks the sum, makes
// it executable and renames it into place, so a node never has a partial
// or unverified binary at b.Path. Safe to repeat; POSIX sh. A b with a
// Member is a tarball: see installArchive.
func Install(b Binary, sum string) (string, error) {
	if !lockfile.IsSum(sum) {
		return "", fmt.Errorf("install %s: %q is not a lowercase hex sha256", b.Name, sum)
	}
	values := []string{b.Name, b.URL, b.Path}
	if b.Member != "" {
		values = append(values, b.Version)
	}
	for _, v := range values {
		if v == "" || strings.ContainsRune(v, 0) {
			return "", fmt.Errorf("install %s: empty value or NUL byte in %q", b.Name, v)
		}
	}
	dir := b.Path[:strings.LastIndexByte(b.Path, '/')+1]
	if dir == "" || !strings.HasPrefix(b.Path, "/") {
		return "", fmt.Errorf("install %s: %q is not an absolute path", b.Name, b.Path)
	}
	if b.Member != "" {
		if strings.ContainsAny(b.Member, "/\x00") || strings.HasPrefix(b.Member, "-") || b.Member == "." || b.Member == ".." {
			return "", fmt.Errorf("install %s: %q is not a plain file name", b.Name, b.Member)
		}
		return installArchive(b, sum, dir), nil
	}
	var s strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	w("set -eu")
	w("name=%s dst=%s url=%s sum=%s", remote.Quote(b.Name), remote.Quote(b.Path), remote.Quote(b.URL), sum)
	// The stamp holds the sum with the file's size, mtime and inode when
	// it was last checked: hashing 100 MB again on every up took 10-20 s
	// per binary on an emulated node. Any change to the file re-hashes.
	w("stamp=%s", remote.Quote(BinaryStamps+"/"+b.Name))
	w(`seen() { echo "$sum $(stat -c '%%s %%Y %%i' "$dst")"; }`)
	w(`if [ -f "$dst" ] && [ -x "$dst" ] && { [ "$(cat "$stamp" 2>/dev/null)" = "$(seen)" ] || printf '%%s  %%s\n' "$sum" "$dst" | sha256sum --check --status; }; then`)
	w(`	[ "$(cat "$stamp" 2>/dev/null)" = "$(seen)" ] || { mkdir -p "$(dirname "$stamp")" && seen >"$stamp"; }`)
	w(`	echo "$name: $dst has sha256 $sum"`)
	w(`else`)
	w(`	tmp=$(mktemp %s)`, remote.Quote(dir+"."+b.Name+".XXXXXXXX"))
	w(`	trap 'rm -f "$tmp"' EXIT`)
	w(`	trap 'rm -f "$tmp"; exit 1' HUP INT TERM`)
	w(`	curl %s --output "$tmp" "$url"`, curlFlags)
	w(`	if ! printf '%%s  %%s\n' "$sum" "$tmp" | sha256sum --check --status; then`)
	w(`		echo "$name: $url has sha256 $(sha256sum <"$tmp" | cut -d' ' -f1), want $sum" >&2`)
	w(`		exit 1`)
	w(`	fi`)
	w(`	chmod 0755 "$tmp"`)
	w(`	mv -f "$tmp" "$dst"`)
	w(`	trap - EXIT HUP INT TERM`)
	w(`	mkdir -p "$(dirname "$stamp")" && seen >"$stamp"`)
	w(`	echo "$name: installed $dst from $url"`)
	w(`fi`)
	return s.String(), nil
}

// BinaryStamps is where a node keeps, for each binary kprov installed,
// its sha256 and the size, mtime and inode it had when checked (a
// variable for tests).
var BinaryStamps = "/var/lib/kprov/binaries"

// ArchiveStamps is where a node keeps the sha256 and version of each
// archive kprov installed a binary from (a variable for tests).
var ArchiveStamps = "/var/lib/kprov/archives"

// installArchive is Install for a gzipped tarball holding b.Member. The
// pinned sum is the tarball's, so it looks first at what the installed
// binary reports: "NAME version VERSION" leaves it alone. Otherwise it
// downloads the tarball into a temporary folder beside b.Path, checks the
// sum, extracts only b.Member there and renames it into place, then
// removes the folder.
func installArchive(b Binary, sum, dir string) string {
	var s strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	w("set -eu")
	w("name=%s dst=%s url=%s sum=%s", remote.Quote(b.Name), remote.Quote(b.Path), remote.Quote(b.URL), sum)
	w("member=%s version=%s", remote.Quote(b.Member), remote.Quote(b.Version))
	// The stamp records the archive installed: a slow node need not start
	// the binary to tell (a 10 s --version timed out under emulation).
	w("stamp=%s", remote.Quote(ArchiveStamps+"/"+b.Name))
	w(`if [ -f "$dst" ] && [ -x "$dst" ] && { [ "$(cat "$stamp" 2>/dev/null)" = "$sum $version" ] || [ "$(timeout 30 "$dst" --version 2>/dev/null || true)" = "$name version $version" ]; }; then`)
	w(`	echo "$name: $dst is $version"`)
	w(`else`)
	w(`	tmp=$(mktemp -d %s)`, remote.Quote(dir+"."+b.Name+".XXXXXXXX"))
	w(`	trap 'rm -rf "$tmp"' EXIT`)
	w(`	trap 'rm -rf "$tmp"; exit 1' HUP INT TERM`)
	w(`	curl %s --output "$tmp/archive.tar.gz" "$url"`, curlFlags)
	w(`	if ! printf '%%s  %%s\n' "$sum" "$tmp/archive.tar.gz" | sha256sum --check --status; then`)
	w(`		echo "$name: $url has sha256 $(sha256sum <"$tmp/archive.tar.gz" | cut -d' ' -f1), want $sum" >&2`)
	w(`		exit 1`)
	w(`	fi`)
	w(`	mkdir "$tmp/x"`)
	w(`	tar -xzf "$tmp/archive.tar.gz" -C "$tmp/x" --no-same-owner --touch -- "$member"`)
	w(`	if [ -h "$tmp/x/$member" ] || [ ! -f "$tmp/x/$member" ]; then`)
	w(`		echo "$name: $url holds no regular file $member" >&2`)
	w(`		exit 1`)
	w(`	fi`)
	w(`	chmod 0755 "$tmp/x/$member"`)
	w(`	mv -f "$tmp/x/$member" "$dst"`)
	w(`	mkdir -p "$(dirname "$stamp")" && echo "$sum $version" >"$stamp"`)
	w(`	rm -rf "$tmp"`)
	w(`	trap - EXIT HUP INT TERM`)
	w(`	echo "$name: installed $dst ($version) from $url"`)
	w(`fi`)
	return s.String()
}

// File is a file written onto a node.
type File struct {
	Path    string
	Mode    uint32
	Content []byte
}

// Paths of the kubelet's systemd unit and kubeadm's drop-in, where the
// upstream packages put them.
const (
	KubeletUnit   = "/usr/lib/systemd/system/kubelet.service"
	KubeadmDropIn = "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"
	// KubeletEnv is the drop-in's file of extra kubelet flags on Debian.
	KubeletEnv = "/etc/default/kubelet"
)

// Units are the kubelet's systemd unit and kubeadm's drop-in for it, as the
// upstream packages ship them, running the kubelet from BinDir.
func Units() ([]File, error) {
	data := struct{ BinDir, EnvironmentFile string }{BinDir, KubeletEnv}
	var out []File
	for _, f := range []struct{ path, tmpl string }{
		{KubeletUnit, "kubelet.service.tmpl"},
		{KubeadmDropIn, "10-kubeadm.conf.tmpl"},
	} {
		content, err := templates.Render(f.tmpl, data)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: f.path, Mode: 0o644, Content: content})
	}
	return out, nil
}

// CrictlConfig is crictl's configuration file: containerd's socket, the
// one kubeadm is given, for both runtime and images, so crictl needs no
// flags and does not probe deprecated sockets; and a timeout of a minute
// instead of crictl's 2 s, which a busy node's containerd overruns.
const CrictlConfig = "/etc/crictl.yaml"

// ContainerdSocket is the CRI endpoint of every kprov node.
const ContainerdSocket = "unix:///run/containerd/containerd.sock"

// crictlTimeout is crictl's timeout for each CRI call, in seconds.
const crictlTimeout = 60

// CrictlFile is CrictlConfig's content.
func CrictlFile() (File, error) {
	content, err := yaml.Marshal(struct {
		RuntimeEndpoint string `json:"runtime-endpoint"`
		ImageEndpoint   string `json:"image-endpoint"`
		Timeout         int    `json:"timeout"`
	}{ContainerdSocket, ContainerdSocket, crictlTimeout})
	if err != nil {
		return File{}, err
	}
	return File{Path: CrictlConfig, Mode: 0o644, Content: content}, nil
}

// EnableKubelet makes systemd read the units and start the kubelet at boot;
// kubeadm init or join starts it. Safe to repeat.
const EnableKubelet = "systemctl daemon-reload && systemctl enable kubelet.service"
