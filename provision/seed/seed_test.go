package seed

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/cloudinit"
)

// testSeed is a seed whose user-data spans several ISO blocks, like one
// holding a real host key.
func testSeed() cloudinit.Seed {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		strings.Repeat("bm90LWEtcmVhbC1rZXktanVzdC1maWxsZXItZm9yLXRoZS1zZWVkLXRlc3QK\n", 80) +
		"-----END OPENSSH PRIVATE KEY-----\n"
	return cloudinit.Seed{
		MetaData:      []byte("instance-id: kprov-demo-cp-1\nlocal-hostname: cp-1\n"),
		UserData:      []byte("#cloud-config\nssh_keys:\n  ed25519_private: |\n    " + strings.ReplaceAll(key, "\n", "\n    ") + "\n"),
		NetworkConfig: []byte("network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.11/24]\n"),
	}
}

func mustISO(t testing.TB, s cloudinit.Seed) []byte {
	t.Helper()
	img, err := ISO(s)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Two builds of one seed are byte-identical, even a second apart: the
// library stamps volume dates with time.Now and Rock Ridge entries with the
// workspace files' ctime, which normalize must erase.
func TestDeterministic(t *testing.T) {
	a := mustISO(t, testSeed())
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	b := mustISO(t, testSeed())
	if !bytes.Equal(a, b) {
		t.Fatalf("two builds of one seed differ at byte %d", firstDiff(a, b))
	}
	// The whole volume is there, in whole blocks, for a CD-ROM or loop device.
	if blocks := int(binary.LittleEndian.Uint32(a[firstDescriptor*blockSize+vdVolumeSize:])); len(a) != blocks*blockSize {
		t.Errorf("image is %d bytes; its volume descriptor says %d blocks of %d", len(a), blocks, blockSize)
	}
}

// Every part of the seed reaches the image: changing one byte of any file
// changes the image.
func TestContentChangesImage(t *testing.T) {
	base := mustISO(t, testSeed())
	for _, c := range []struct {
		name     string
		field    func(*cloudinit.Seed) *[]byte
		old, new string
	}{
		{cloudinit.MetaDataFile, func(s *cloudinit.Seed) *[]byte { return &s.MetaData }, "cp-1", "cp-2"},
		{cloudinit.UserDataFile, func(s *cloudinit.Seed) *[]byte { return &s.UserData }, "bm90", "bm91"},
		{cloudinit.NetworkConfigFile, func(s *cloudinit.Seed) *[]byte { return &s.NetworkConfig }, ".11/", ".12/"},
	} {
		s := testSeed()
		f := c.field(&s)
		changed := bytes.Replace(*f, []byte(c.old), []byte(c.new), 1)
		if bytes.Equal(changed, *f) {
			t.Fatalf("%s: no %q to replace", c.name, c.old)
		}
		*f = changed
		if bytes.Equal(mustISO(t, s), base) {
			t.Errorf("changing %s did not change the image", c.name)
		}
	}
}

// The image depends neither on the time zone nor on who builds it: a child
// process in another zone (and, when the test runs as root, as user nobody)
// builds the same bytes.
func TestDeterministicAcrossZoneAndUser(t *testing.T) {
	dir, err := os.MkdirTemp("", "kprov-seed-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "seed.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := time.LoadLocation("Pacific/Chatham"); err != nil {
		t.Fatalf("no time zone database (install tzdata): %v", err)
	}
	out := filepath.Join(dir, "child.iso")
	cmd := exec.Command(bin, "-test.run=^TestChildBuild$")
	cmd.Env = append(os.Environ(), "TZ=Pacific/Chatham", "TMPDIR="+dir, "KPROV_SEED_CHILD_OUT="+out)
	who := "this user"
	if os.Geteuid() == 0 {
		who = "nobody"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child build: %v\n%s", err, b)
	}
	child, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if here := mustISO(t, testSeed()); !bytes.Equal(here, child) {
		t.Fatalf("child build (TZ=Pacific/Chatham, as %s) differs at byte %d: sha256 %x here, %x there",
			who, firstDiff(here, child), sha256.Sum256(here), sha256.Sum256(child))
	}
}

// TestChildBuild is the child of TestDeterministicAcrossZoneAndUser.
func TestChildBuild(t *testing.T) {
	out := os.Getenv("KPROV_SEED_CHILD_OUT")
	if out == "" {
		t.Skip("run by TestDeterministicAcrossZoneAndUser")
	}
	if err := os.WriteFile(out, mustISO(t, testSeed()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Every date in the volume descriptors is the fixed epoch or unspecified.
func TestVolumeDates(t *testing.T) {
	img := mustISO(t, testSeed())
	for sector := firstDescriptor; img[sector*blockSize] != 255; sector++ {
		vd := img[sector*blockSize:]
		for i, want := range []string{"2020010100000000\x00", "2020010100000000\x00", "0000000000000000\x00", "0000000000000000\x00"} {
			if got := string(vd[vdCreation+17*i : vdCreation+17*(i+1)]); got != want {
				t.Errorf("sector %d date %d: got %q, want %q", sector, i, got, want)
			}
		}
	}
}

// The temporary folder is gone after a build, and nothing else is left in
// TMPDIR.
func TestNoTemporaryFilesLeft(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	mustISO(t, testSeed())
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
}

func TestNormalizeRejectsGarbage(t *testing.T) {
	for name, img := range map[string][]byte{
		"empty":         nil,
		"no descriptor": make([]byte, 20*blockSize),
	} {
		if _, err := normalize(img); err == nil {
			t.Errorf("%s: normalize accepted it", name)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
