package virt

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckFormat(t *testing.T) {
	qcow2 := []byte("QFI\xfb\x00\x00\x00\x03rest")
	for _, tc := range []struct {
		name, want string
		head       []byte
		err        string // "" when accepted
	}{
		{"qcow2 as qcow2", "qcow2", qcow2, ""},
		{"raw as raw", "raw", []byte("\xeb\x63\x90\x00boot sector"), ""},
		{"qcow2 as raw", "raw", qcow2, `format = "qcow2"`},
		{"raw as qcow2", "qcow2", []byte("\xeb\x63\x90\x00boot"), `format = "raw"`},
		{"html page", "qcow2", []byte("\n  <!doctype html><html>"), "HTML page"},
		{"xz archive", "raw", []byte("\xfd7zXZ\x00\x00"), "unpack it first"},
		{"empty file", "qcow2", nil, "not qcow2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFormat("img", tc.want, tc.head)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want a FormatError saying %q", err, tc.err)
			}
		})
	}
}
