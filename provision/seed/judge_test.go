package seed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kprov/kprov/provision/cloudinit"
)

// Real readers judge the image: isoinfo (genisoimage), blkid (util-linux)
// and the Linux kernel's isofs, which is what cloud-init mounts in a guest.
// Under go test -short a missing program skips the test; without -short it
// fails it with how to install it: a judge never passes by not running.

// program is the path of a judge program, or a skip/failure when missing.
func program(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if testing.Short() {
		t.Skipf("-short: %s not found (install with `%s`)", name, install)
	}
	t.Fatalf("%s not found: install it with `%s` (or run go test -short)", name, install)
	return ""
}

func writeImage(t testing.TB, img []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "seed.iso")
	if err := os.WriteFile(p, img, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(name string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// seedFiles are the names NoCloud reads, as `ls` sorts them.
func seedFiles() []string {
	return []string{cloudinit.MetaDataFile, cloudinit.NetworkConfigFile, cloudinit.UserDataFile}
}

func content(s cloudinit.Seed, name string) []byte {
	return map[string][]byte{
		cloudinit.MetaDataFile:      s.MetaData,
		cloudinit.UserDataFile:      s.UserData,
		cloudinit.NetworkConfigFile: s.NetworkConfig,
	}[name]
}

// checkLabel reports whether isoinfo and blkid both read the volume label
// want from the image at path.
func checkLabel(isoinfo, blkid, path, want string) error {
	out, err := run(isoinfo, "-d", "-i", path)
	if err != nil {
		return err
	}
	var id string
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(line, "Volume id: "); ok {
			id = strings.TrimSpace(v)
		}
	}
	if id != want {
		return fmt.Errorf("isoinfo -d: volume id %q, want %q", id, want)
	}
	// -p probes the file itself, bypassing blkid's cache.
	if out, err = run(blkid, "-p", "-o", "value", "-s", "LABEL", path); err != nil {
		return err
	}
	if got := strings.TrimSpace(string(out)); got != want {
		return fmt.Errorf("blkid: LABEL %q, want %q", got, want)
	}
	return nil
}

// checkFiles reports whether isoinfo, reading names from the extension
// flag ext (-R Rock Ridge, -J Joliet), lists exactly the seed's files at
// the root and extracts each with the bytes of s.
func checkFiles(isoinfo, path, ext string, s cloudinit.Seed) error {
	out, err := run(isoinfo, ext, "-l", "-i", path)
	if err != nil {
		return err
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(line, "-") { // a regular file
			names = append(names, f[len(f)-1])
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, seedFiles()) {
		return fmt.Errorf("isoinfo %s -l: files %q, want %q", ext, names, seedFiles())
	}
	for _, name := range seedFiles() {
		got, err := run(isoinfo, ext, "-x", "/"+name, "-i", path)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, content(s, name)) { // never print: user-data is secret
			return fmt.Errorf("isoinfo %s -x /%s: %d bytes differing from the seed's %d", ext, name, len(got), len(content(s, name)))
		}
	}
	return nil
}

// checkExtracted reports whether dir holds exactly the seed's files, with
// the bytes of s and mode 0600.
func checkExtracted(dir string, s cloudinit.Seed) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, seedFiles()) {
		return fmt.Errorf("files %q, want %q", names, seedFiles())
	}
	for _, name := range names {
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, content(s, name)) { // never print: user-data is secret
			return fmt.Errorf("%s: %d bytes differing from the seed's %d", name, len(got), len(content(s, name)))
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode() != 0o600 {
			return fmt.Errorf("%s: mode %v (%v), want -rw-------", name, fi.Mode(), err)
		}
	}
	return nil
}

// checkXorriso reports whether xorriso (libisofs, another reader than
// isoinfo) extracts the seed's files from the image at path.
func checkXorriso(xorriso, path string, s cloudinit.Seed) error {
	dir, err := os.MkdirTemp("", "kprov-seed-xorriso-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "x")
	if _, err := run(xorriso, "-osirrox", "on", "-indev", path, "-extract", "/", out); err != nil {
		return err
	}
	if err := checkExtracted(out, s); err != nil {
		return fmt.Errorf("xorriso -extract: %w", err)
	}
	return nil
}

func TestReadersSeeSeed(t *testing.T) {
	isoinfo := program(t, "isoinfo", "apt-get install -y genisoimage")
	blkid := program(t, "blkid", "apt-get install -y util-linux")
	xorriso := program(t, "xorriso", "apt-get install -y xorriso")
	s := testSeed()
	path := writeImage(t, mustISO(t, s))
	if err := checkLabel(isoinfo, blkid, path, Label); err != nil {
		t.Error(err)
	}
	for _, ext := range []string{"-R", "-J"} {
		if err := checkFiles(isoinfo, path, ext, s); err != nil {
			t.Error(err)
		}
	}
	if err := checkXorriso(xorriso, path, s); err != nil {
		t.Error(err)
	}
	// Rock Ridge: files private to root, dated the fixed epoch.
	out, err := run(isoinfo, "-R", "-l", "-i", path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "-") && !strings.HasPrefix(line, "-rw-------   1    0    0") ||
			strings.HasPrefix(line, "-") && !strings.Contains(line, "Jan  1 2020") {
			t.Errorf("isoinfo -R -l: %q, want mode -rw-------, owner 0:0, date Jan  1 2020", line)
		}
	}
}

// The judges can fail: a wrong label, or files that are not the seed's, are
// rejected.
func TestJudgesReject(t *testing.T) {
	isoinfo := program(t, "isoinfo", "apt-get install -y genisoimage")
	blkid := program(t, "blkid", "apt-get install -y util-linux")
	xorriso := program(t, "xorriso", "apt-get install -y xorriso")
	s := testSeed()
	wrong, err := build(s, "CIDATA2")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkLabel(isoinfo, blkid, writeImage(t, wrong), Label); err == nil {
		t.Error("label judge accepted an image labelled CIDATA2")
	}
	other := s
	other.UserData = append(bytes.Clone(s.UserData), '\n')
	otherPath := writeImage(t, mustISO(t, other))
	for _, ext := range []string{"-R", "-J"} {
		if err := checkFiles(isoinfo, otherPath, ext, s); err == nil {
			t.Errorf("files judge (isoinfo %s) accepted another seed's user-data", ext)
		}
	}
	if err := checkXorriso(xorriso, otherPath, s); err == nil {
		t.Error("files judge (xorriso) accepted another seed's user-data")
	}
}

// The Linux kernel mounts the image read-only, as cloud-init does in a
// guest, in a private mount namespace, and reads back the three files.
func TestKernelMountsSeed(t *testing.T) {
	unshare := program(t, "unshare", "apt-get install -y util-linux")
	program(t, "mount", "apt-get install -y mount")
	if os.Geteuid() != 0 {
		if testing.Short() {
			t.Skip("-short: mounting needs root")
		}
		t.Fatal("mounting a loop device needs root: run as root (or go test -short)")
	}
	s := testSeed()
	path := writeImage(t, mustISO(t, s))
	mnt, out := t.TempDir(), t.TempDir()
	// The mount is private to the namespace and gone when sh exits; umount
	// also frees the loop device. cp -p keeps the modes the kernel reports.
	script := `set -e
mount -t iso9660 -o loop,ro "$1" "$2"
trap 'umount "$2"' EXIT
cp -p "$2"/* "$3"/
stat -c '%u:%g' "$2"/* > "$4"`
	owners := filepath.Join(t.TempDir(), "owners")
	b, err := exec.Command(unshare, "--mount", "--propagation", "private",
		"sh", "-c", script, "sh", path, mnt, out, owners).CombinedOutput()
	if bytes.Contains(b, []byte("unknown filesystem type")) {
		// Not installable from userspace: say so loudly rather than pass.
		t.Skipf("KERNEL JUDGE NOT RUN: this kernel has no iso9660 filesystem (CONFIG_ISO9660_FS / modprobe isofs):\n%s", b)
	}
	if err != nil {
		t.Fatalf("mount the seed in a private namespace: %v\n%s", err, b)
	}
	if err := checkExtracted(out, s); err != nil {
		t.Errorf("the kernel's view: %v", err)
	}
	if o, err := os.ReadFile(owners); err != nil || strings.Count(string(o), "0:0\n") != len(seedFiles()) {
		t.Errorf("the kernel's owners: %q (%v), want 0:0 for each file", o, err)
	}
}
