package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/flickerlog/flicker/internal/durable"
)

// ErrSymlink is returned when a symbolic link is at the path of a file the sink writes: following it would let
// whoever can write to the directory make flicker (often root) append to any file.
var ErrSymlink = errors.New("is a symbolic link: flicker does not write through links; remove it, or set the path " +
	"to the file itself")

// open opens the file at the configured path for appending, creating it with the configured mode (but not its
// directory: a directory removed while running makes writes fail and retry rather than silently reappear). A
// symbolic link at the path is never followed (O_NOFOLLOW) but refused. It makes the directory entry durable, and
// ends a partial last line left by a crash so that the next event starts on its own line.
func (s *Sink) open() error {
	path := s.cfg.Path
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, s.mode)
	if err != nil {
		if info, lerr := os.Lstat(path); lerr == nil && info.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s %w", path, ErrSymlink)
		}
		return fmt.Errorf("open %s: %w", path, err)
	}
	info, err := f.Stat()
	if err == nil {
		err = endLine(f, info.Size())
	}
	if err == nil {
		err = durable.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("open %s: %w", path, err)
	}
	if info.Size() > 0 {
		if info, err = f.Stat(); err != nil {
			_ = f.Close()
			return fmt.Errorf("open %s: %w", path, err)
		}
	}
	s.info, s.size = info, info.Size()
	s.mu.Lock()
	s.f, s.broken = f, false
	s.mu.Unlock()
	return nil
}

// endLine appends a newline when the file's last byte is not one.
func endLine(f *os.File, size int64) error {
	if size == 0 {
		return nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	_, err := f.Write([]byte{'\n'})
	return err
}

// ensureOpen makes the current file usable: it reopens the path after a failed write or fsync, after the file was
// removed or replaced underneath (so that events do not vanish into an unlinked file), and after an earlier
// reopen failed.
func (s *Sink) ensureOpen() error {
	s.mu.Lock()
	f, broken := s.f, s.broken
	s.mu.Unlock()
	if f != nil {
		if !broken && s.stillAtPath() {
			return nil
		}
		s.log.Warn().Bool("after_error", broken).Msg("reopening the file")
		if err := s.closeFile(); err != nil {
			s.log.Warn().Err(err).Msg("closing the previous file")
		}
	}
	return s.open()
}

// stillAtPath reports whether the configured path still names the open file itself, not a link to it or to
// another file.
func (s *Sink) stillAtPath() bool {
	info, err := os.Lstat(s.cfg.Path)
	return err == nil && os.SameFile(info, s.info)
}

// closeFile fsyncs and closes the current file. Batches written to it and still pending are covered by this fsync:
// the syncer releases them without another one, or marks them Retry with this fsync's error.
func (s *Sink) closeFile() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.syncing {
		s.cond.Wait()
	}
	f := s.f
	s.f, s.broken = nil, false
	err := f.Sync()
	if err != nil {
		err = fmt.Errorf("fsync %s: %w", s.cfg.Path, err)
		for i := range s.pending {
			if s.pending[i].err == nil {
				s.pending[i].err = err
			}
		}
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", s.cfg.Path, cerr)
	}
	return err
}

// rotate closes the full file and shifts path.N-1 to path.N, ..., path to path.1 (the oldest beyond rotate_files
// is overwritten), then opens a new file at path.
func (s *Sink) rotate() error {
	if err := s.closeFile(); err != nil {
		// Not rotated: the next Write reopens the same path.
		return err
	}
	path := s.cfg.Path
	for n := s.cfg.RotateFiles; n >= 1; n-- {
		from := path
		if n > 1 {
			from = path + "." + strconv.Itoa(n-1)
		}
		if err := os.Rename(from, path+"."+strconv.Itoa(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate %s: %w", path, err)
		}
	}
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("rotate %s: %w", path, err)
	}
	s.log.Debug().Int64("rotate_bytes", s.cfg.RotateBytes).Msg("rotated")
	return s.open()
}
