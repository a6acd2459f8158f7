package seed

import (
	"encoding/binary"
	"fmt"
	"time"
)

// epoch is the time every timestamp in a seed image is set to.
func epoch() time.Time { return time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC) }

// Offsets in ECMA-119 (ISO9660) structures and Rock Ridge (RRIP) entries.
const (
	firstDescriptor = 16  // sector of the first volume descriptor
	vdVolumeSize    = 80  // volume space size in blocks, both-endian
	vdRootRecord    = 156 // root directory record in a volume descriptor
	vdCreation      = 813 // creation, modification, expiration, effective: 17 bytes each
	recDate         = 18  // recording date in a directory record, 7 bytes
	recFlags        = 25
	recNameLen      = 32
	recName         = 33
	flagDirectory   = 2
	tfLongForm      = 0x80
)

// normalize rewrites what go-diskfs takes from the clock, the time zone and
// the workspace files (volume dates from time.Now, recording dates in local
// time, Rock Ridge mtime/atime/ctime and uid/gid) so that the image depends
// only on the seed: every date becomes epoch in UTC, every owner root. It
// also pads the image to the size its primary volume descriptor declares:
// go-diskfs ends the file inside its last block, which a CD-ROM or loop
// device rounds down and loses.
func normalize(img []byte) ([]byte, error) {
	img, err := pad(img)
	if err != nil {
		return nil, err
	}
	return img, fixDescriptors(img)
}

func pad(img []byte) ([]byte, error) {
	pvd := firstDescriptor * blockSize
	if len(img) < pvd+blockSize || img[pvd] != 1 || string(img[pvd+1:pvd+6]) != "CD001" {
		return nil, fmt.Errorf("no primary volume descriptor in sector %d", firstDescriptor)
	}
	size := int(binary.LittleEndian.Uint32(img[pvd+vdVolumeSize:])) * blockSize
	if size < len(img) {
		return nil, fmt.Errorf("volume size %d is less than the %d bytes written", size, len(img))
	}
	return append(img, make([]byte, size-len(img))...), nil
}

func fixDescriptors(img []byte) error {
	n := normalizer{img: img, seen: map[int]bool{}}
	for sector := firstDescriptor; ; sector++ {
		vd, err := n.slice(sector*blockSize, blockSize)
		if err != nil {
			return fmt.Errorf("volume descriptor set has no terminator: %w", err)
		}
		if string(vd[1:6]) != "CD001" {
			return fmt.Errorf("sector %d is not a volume descriptor", sector)
		}
		switch vd[0] {
		case 255: // terminator
			return nil
		case 1, 2: // primary, supplementary (Joliet)
			d := decDate(epoch())
			copy(vd[vdCreation:], d)    // creation
			copy(vd[vdCreation+17:], d) // modification
			copy(vd[vdCreation+34:], unspecifiedDate())
			copy(vd[vdCreation+51:], unspecifiedDate())
			if err := n.record(vd[vdRootRecord : vdRootRecord+34]); err != nil {
				return err
			}
		}
	}
}

type normalizer struct {
	img  []byte
	seen map[int]bool // directory extents already walked
}

func (n *normalizer) slice(off, size int) ([]byte, error) {
	if off < 0 || size < 0 || off+size > len(n.img) {
		return nil, fmt.Errorf("range %d+%d outside the %d-byte image", off, size, len(n.img))
	}
	return n.img[off : off+size], nil
}

// record fixes one directory record and, for a directory, every record in
// its extent.
func (n *normalizer) record(rec []byte) error {
	if len(rec) < recName || int(rec[recNameLen]) > len(rec)-recName {
		return fmt.Errorf("directory record of %d bytes is too short", len(rec))
	}
	copy(rec[recDate:], shortDate(epoch()))
	nameLen := int(rec[recNameLen])
	su := recName + nameLen
	if nameLen%2 == 0 {
		su++ // padding byte
	}
	if su < len(rec) {
		if err := n.systemUse(rec[su:]); err != nil {
			return err
		}
	}
	if rec[recFlags]&flagDirectory == 0 {
		return nil
	}
	loc := int(binary.LittleEndian.Uint32(rec[2:6]))
	size := int(binary.LittleEndian.Uint32(rec[10:14]))
	if n.seen[loc] {
		return nil
	}
	n.seen[loc] = true
	ext, err := n.slice(loc*blockSize, size)
	if err != nil {
		return fmt.Errorf("directory extent: %w", err)
	}
	for off := 0; off < len(ext); {
		l := int(ext[off])
		if l == 0 { // records do not cross sectors: skip to the next one
			off = (off/blockSize + 1) * blockSize
			continue
		}
		if off+l > len(ext) {
			return fmt.Errorf("directory record at %d overruns its extent", loc*blockSize+off)
		}
		if err := n.record(ext[off : off+l]); err != nil {
			return err
		}
		off += l
	}
	return nil
}

// systemUse fixes the SUSP entries of a system use area (Rock Ridge TF and
// PX), following continuation areas (CE).
func (n *normalizer) systemUse(su []byte) error {
	for i := 0; i+4 <= len(su); {
		sig, l := string(su[i:i+2]), int(su[i+2])
		if l < 4 || i+l > len(su) {
			return fmt.Errorf("system use entry %q has bad length %d", sig, l)
		}
		e := su[i : i+l]
		switch sig {
		case "ST": // terminator
			return nil
		case "PX": // mode, links, uid, gid, serial: 8 bytes each, both-endian
			if l < 36 {
				return fmt.Errorf("PX entry of %d bytes", l)
			}
			clear(e[20:36])
		case "TF":
			if l < 5 {
				return fmt.Errorf("TF entry of %d bytes", l)
			}
			size, stamp := 7, shortDate(epoch())
			if e[4]&tfLongForm != 0 {
				size, stamp = 17, decDate(epoch())
			}
			for off := 5; off+size <= l; off += size {
				copy(e[off:], stamp)
			}
		case "CE":
			if l < 28 {
				return fmt.Errorf("CE entry of %d bytes", l)
			}
			block := int(binary.LittleEndian.Uint32(e[4:8]))
			off := int(binary.LittleEndian.Uint32(e[12:16]))
			size := int(binary.LittleEndian.Uint32(e[20:24]))
			area, err := n.slice(block*blockSize+off, size)
			if err != nil {
				return fmt.Errorf("continuation area: %w", err)
			}
			if err := n.systemUse(area); err != nil {
				return err
			}
		}
		i += l
	}
	return nil
}

// shortDate is a 7-byte directory record date (ECMA-119 9.1.5).
func shortDate(t time.Time) []byte {
	t = t.UTC()
	return []byte{byte(t.Year() - 1900), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0}
}

// decDate is a 17-byte volume descriptor date (ECMA-119 8.4.26.1).
func decDate(t time.Time) []byte {
	t = t.UTC()
	return append(fmt.Appendf(nil, "%04d%02d%02d%02d%02d%02d%02d", t.Year(), t.Month(), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e7), 0)
}

// unspecifiedDate is a volume descriptor date meaning "not specified".
func unspecifiedDate() []byte {
	return append([]byte("0000000000000000"), 0)
}
