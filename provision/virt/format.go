package virt

import (
	"bytes"
	"fmt"
)

// Magic numbers at the start of images and of what a wrong URL or a
// packed download gives instead.
var magics = []struct {
	name  string
	magic []byte
	what  string
}{
	{"qcow2", []byte("QFI\xfb"), "a qcow2 image"},
	{"xz", []byte("\xfd7zXZ\x00"), "an xz archive (unpack it first: kprov takes qcow2 or raw images)"},
	{"gzip", []byte("\x1f\x8b"), "a gzip archive (unpack it first: kprov takes qcow2 or raw images)"},
	{"zstd", []byte("\x28\xb5\x2f\xfd"), "a zstd archive (unpack it first: kprov takes qcow2 or raw images)"},
	{"html", []byte("<!DOCTYPE"), "an HTML page, not an image (a wrong URL, or a login page in front of it)"},
	{"html", []byte("<html"), "an HTML page, not an image (a wrong URL, or a login page in front of it)"},
	{"vmdk", []byte("KDMV"), "a VMDK disk (convert it: qemu-img convert -O qcow2)"},
	{"vdi", []byte("<<< "), "a VirtualBox disk (convert it: qemu-img convert -O qcow2)"},
}

// FormatError is an image whose first bytes are not the format the spec
// names.
type FormatError struct {
	Image, Want, Found string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("image %s: the spec says format %q, but the file is %s", e.Image, e.Want, e.Found)
}

// checkFormat compares an image's first bytes with the spec's format
// (qcow2 or raw) before anything is imported.
func checkFormat(image, want string, head []byte) error {
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	for _, m := range magics {
		if !bytes.HasPrefix(head, m.magic) && !(m.name == "html" && bytes.HasPrefix(bytes.ToLower(trimmed), bytes.ToLower(m.magic))) {
			continue
		}
		if m.name == want {
			return nil
		}
		found := m.what
		if m.name == "qcow2" {
			found += ` (set image { format = "qcow2" })`
		}
		return &FormatError{Image: image, Want: want, Found: found}
	}
	if want == "qcow2" {
		return &FormatError{Image: image, Want: want, Found: fmt.Sprintf("not qcow2 (it starts %q; a raw image needs format = \"raw\")", printable(head))}
	}
	return nil
}

// printable is up to 16 bytes of head, for a message.
func printable(head []byte) string {
	if len(head) > 16 {
		head = head[:16]
	}
	return string(head)
}
