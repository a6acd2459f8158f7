package virt_test

import (
	"testing"

	"github.com/kprov/kprov/internal/labtest"
)

// TestMain runs these tests in a lab namespace of their own, with a real
// libvirtd (see labtest).
func TestMain(m *testing.M) { labtest.Main(m) }
