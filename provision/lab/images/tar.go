package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// epoch is every entry's modification time and the images' creation time:
// the same recipe then gives the same bytes.
var epoch = time.Unix(0, 0).UTC()

// writeFiles writes files as a tar stream: sorted by path, parent folders
// added (0755, root), times fixed. binPath gives a built binary's file.
func writeFiles(tw *tar.Writer, files []File, binPath func(Binary) (string, error)) error {
	byPath := map[string]File{}
	for _, f := range files {
		p := path.Clean(strings.TrimPrefix(f.Path, "/"))
		if p == "." || strings.HasPrefix(p, "../") {
			return fmt.Errorf("file path %q is outside the image", f.Path)
		}
		if _, dup := byPath[p]; dup {
			return fmt.Errorf("file %s is listed twice", p)
		}
		f.Path = p
		byPath[p] = f
	}
	for p := range byPath {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = File{Path: d, Kind: Dir, Mode: 0o755}
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		f := byPath[p]
		// A hard link's header carries its target's mode and owner:
		// containerd applies them to the shared inode (mode 0 made
		// calico-ipam and calico unexecutable).
		if t, ok := byPath[f.Target]; ok && f.Kind == Hardlink {
			f.Mode, f.UID, f.GID = t.Mode, t.UID, t.GID
		}
		if err := writeFile(tw, f, binPath); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

func writeFile(tw *tar.Writer, f File, binPath func(Binary) (string, error)) error {
	hdr := &tar.Header{Name: f.Path, Mode: f.Mode, Uid: f.UID, Gid: f.GID, ModTime: epoch}
	for k, v := range f.Xattrs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = string(v)
		hdr.Format = tar.FormatPAX
	}
	var body io.Reader
	switch f.Kind {
	case Dir:
		hdr.Typeflag, hdr.Name = tar.TypeDir, f.Path+"/"
	case Symlink:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Target
	case Hardlink:
		hdr.Typeflag, hdr.Linkname = tar.TypeLink, f.Target
	case Regular:
		hdr.Typeflag = tar.TypeReg
		switch {
		case f.Bin != nil:
			p, err := binPath(*f.Bin)
			if err != nil {
				return err
			}
			fh, err := os.Open(p)
			if err != nil {
				return err
			}
			defer fh.Close()
			info, err := fh.Stat()
			if err != nil {
				return err
			}
			hdr.Size, body = info.Size(), fh
		default:
			hdr.Size, body = int64(len(f.Data)), bytes.NewReader(f.Data)
		}
	default:
		return fmt.Errorf("unknown file kind %q", f.Kind)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if body != nil {
		if _, err := io.Copy(tw, body); err != nil {
			return err
		}
	}
	return nil
}

// skipContents are the folders of a root filesystem whose contents the
// container runtime provides (kept empty in the layer).
var skipContents = map[string]bool{"dev": true, "proc": true, "sys": true}

// writeTree writes the tree at root as a tar stream: lexical order, owners
// and modes (setuid too) and file capabilities kept, hard links as links,
// times fixed; devices, sockets and FIFOs left out.
func writeTree(tw *tar.Writer, root string) error {
	links := map[uint64]string{} // inode -> first name, for hard links
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if top, _, nested := strings.Cut(rel, "/"); nested && skipContents[top] {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no stat", p)
		}
		hdr := &tar.Header{Name: rel, Mode: int64(info.Mode().Perm()), Uid: int(st.Uid), Gid: int(st.Gid), ModTime: epoch}
		m := info.Mode()
		if m&fs.ModeSetuid != 0 {
			hdr.Mode |= 0o4000
		}
		if m&fs.ModeSetgid != 0 {
			hdr.Mode |= 0o2000
		}
		if m&fs.ModeSticky != 0 {
			hdr.Mode |= 0o1000
		}
		var body *os.File
		switch {
		case m.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
		case m&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, t
		case m.IsRegular():
			if first, seen := links[st.Ino]; seen && st.Nlink > 1 {
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
				break
			}
			if st.Nlink > 1 {
				links[st.Ino] = rel
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
			if body, err = os.Open(p); err != nil {
				return err
			}
			defer body.Close()
		default:
			return nil
		}
		if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeDir {
			if caps, err := xattr(p, "security.capability"); err == nil && len(caps) > 0 {
				hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(caps)}
				hdr.Format = tar.FormatPAX
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if body != nil && hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, body); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		return nil
	})
}

// xattr reads the extended attribute name of p (not following links).
func xattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
