package main

import (
	"fmt"
	"strings"
)

// birdIPAMTemplate is confd's template (in the calico/node image) whose
// kernel filter sets krt_tunnel.
const birdIPAMTemplate = "etc/calico/confd/templates/bird_ipam.cfg.template"

// The krt_tunnel statements of bird_ipam.cfg.template and how many of each
// Calico v3.28.5 has. krt_tunnel is an attribute of Calico's BIRD fork only:
// Debian's bird 1.6.8 refuses the config ("You may set only variables").
const (
	krtNoTunnel      = `krt_tunnel = "";`
	krtPoolTunnel    = `krt_tunnel = "{{$data.ipip}}";`
	krtNoTunnelN     = 1
	krtPoolTunnelN   = 3
	krtPoolTunnelFix = `{{if $data.ipip}}` + krtPoolTunnel + `{{end}}`
)

// patchBirdIPAM rewrites bird_ipam.cfg.template for Debian's BIRD: the
// `krt_tunnel = "";` statement (no tunnel) goes, and each
// `krt_tunnel = "{{$data.ipip}}";` is kept only for a pool with an IPIP
// interface, so that a pure BGP pool (IPIP and VXLAN off) renders no
// krt_tunnel and an IPIP pool still renders it (and Debian's BIRD refuses
// it, loudly). It fails when upstream's statements are not exactly those
// it expects.
func patchBirdIPAM(b []byte) ([]byte, error) {
	s := string(b)
	n0, n1 := strings.Count(s, krtNoTunnel), strings.Count(s, krtPoolTunnel)
	if n0 != krtNoTunnelN || n1 != krtPoolTunnelN || strings.Count(s, "krt_tunnel") != n0+n1 || strings.Contains(s, krtPoolTunnelFix) {
		return nil, fmt.Errorf("%s has %d %s, %d %s and %d krt_tunnel in all, want %d, %d and no other: "+
			"upstream changed the template, so review patchBirdIPAM (provision/lab/images/birdpatch.go)",
			birdIPAMTemplate, n0, krtNoTunnel, n1, krtPoolTunnel, strings.Count(s, "krt_tunnel"), krtNoTunnelN, krtPoolTunnelN)
	}
	s = strings.ReplaceAll(s, krtNoTunnel, "")
	s = strings.ReplaceAll(s, krtPoolTunnel, krtPoolTunnelFix)
	return []byte(s), nil
}

// patchFile replaces the data of the file at path among files with
// patch's result; it fails when no file has that path.
func patchFile(files []File, path string, patch func([]byte) ([]byte, error)) error {
	for i := range files {
		if files[i].Path != path {
			continue
		}
		b, err := patch(files[i].Data)
		if err != nil {
			return err
		}
		files[i].Data = b
		return nil
	}
	return fmt.Errorf("no %s in the image to patch: upstream moved it, so review the calico/node recipe", path)
}
