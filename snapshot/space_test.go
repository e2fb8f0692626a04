package snapshot_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/flickerlog/flicker/internal/mounttest"
	"github.com/flickerlog/flicker/snapshot"
)

// used is how many bytes of dir's filesystem are in use.
func used(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// TestReadBoundedByFreeSpace: a snapshot whose registry would expand beyond the free space of the disk it is
// restored to (a valid object with a highly compressible payload: 64 MiB of zeros in a few KiB) is refused before
// anything is written, naming both sizes; a header that lies about the size is caught while expanding; the disk
// is never filled and no partial file is left. A real snapshot still fits.
func TestReadBoundedByFreeSpace(t *testing.T) {
	const expanded = 64 << 20
	disk := mounttest.TmpFS(t, "4m")
	body, _ := writeT(t, newRegistry(t, 5))
	bomb := withPayload(t, splitObject(t, body), make([]byte, expanded))
	liar := bomb.clone()
	liar.header["raw_size"] = 1 << 20 // fits: the count while expanding must stop it

	tests := []struct {
		name string
		obj  []byte
		want error
		says []string
	}{
		{"claims more than the disk holds", bomb.bytes(t), snapshot.ErrTooLarge,
			[]string{fmt.Sprintf("the registry in the snapshot is %d bytes", expanded), "bytes free", disk}},
		{"claims little, expands to more", liar.bytes(t), snapshot.ErrCorrupt,
			[]string{"more than the header's raw size"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(disk, "registry.db")
			_, err := snapshot.Read(bytes.NewReader(tt.obj), dst)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the error does not say %q: %v", s, err)
				}
			}
			if u := used(t, disk); u > 2<<20 {
				t.Fatalf("%d bytes of the 4 MiB disk in use after the refused restore", u)
			}
			if entries, _ := os.ReadDir(disk); len(entries) != 0 {
				t.Fatalf("the refused restore left %v", entries)
			}
		})
	}

	t.Run("the disk fills while expanding", func(t *testing.T) {
		// 3 MiB fits the 4 MiB disk when the restore begins; then another writer takes all but 1 MiB.
		fits := withPayload(t, splitObject(t, body), make([]byte, 3<<20)).bytes(t)
		filler := filepath.Join(disk, "other-writer")
		r := &onPayload{r: bytes.NewReader(fits), at: headerLen(fits), do: func() {
			fill(t, filler, free(t, disk)-(1<<20))
		}}
		dst := filepath.Join(disk, "registry.db")
		_, err := snapshot.Read(r, dst)
		if !r.done {
			t.Fatal("the payload was never read")
		}
		if !errors.Is(err, snapshot.ErrTooLarge) || !strings.Contains(err.Error(), "the disk filled after") ||
			!strings.Contains(err.Error(), "bytes free") {
			t.Fatalf("got %v, want ErrTooLarge saying the disk filled", err)
		}
		if entries, _ := os.ReadDir(disk); len(entries) != 1 {
			t.Fatalf("the refused restore left %v", entries)
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a real snapshot fits", func(t *testing.T) {
		dst := filepath.Join(disk, "registry.db")
		if _, err := snapshot.Read(bytes.NewReader(body), dst); err != nil {
			t.Fatal(err)
		}
	})
}

// headerLen is the length of everything in front of a snapshot object's payload.
func headerLen(obj []byte) int { return 16 + int(binary.BigEndian.Uint32(obj[12:16])) + 4 }

// onPayload reads r and calls do once, when the reader first asks for a byte at offset at or beyond.
type onPayload struct {
	r    io.Reader
	at   int
	n    int
	do   func()
	done bool
}

func (o *onPayload) Read(p []byte) (int, error) {
	if !o.done && o.n+len(p) > o.at {
		if o.n < o.at {
			p = p[:o.at-o.n] // up to the payload first
		} else {
			o.done = true
			o.do()
		}
	}
	n, err := o.r.Read(p)
	o.n += n
	return n, err
}

// free is how many bytes dir's filesystem has available.
func free(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes a file of size bytes at path.
func fill(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
}
