package container

import (
	"github.com/flickerlog/flicker/internal/rfc3339"
	"github.com/flickerlog/flicker/sources/file"
)

// Formats returns the container log formats the file source decodes (log_files format, docker_containers), each
// for the use of one source.
func Formats() []file.Format {
	return []file.Format{&dockerFormat{}, &criFormat{}}
}

// dockerFormat is Docker for the file source.
type dockerFormat struct {
	d Docker
	r Record
}

func (f *dockerFormat) Name() string { return file.FormatDocker }

func (f *dockerFormat) Decode(line []byte, p *file.Piece) error {
	f.d.room = p.Room
	if err := f.d.Decode(line, &f.r); err != nil {
		return err
	}
	p.Time, p.Stream, p.Partial, p.Content = f.r.Time, streamNames[f.r.Stream], f.r.Partial, f.r.Content
	p.DropCR = false
	return nil
}

var streamNames = [...]string{StreamUnknown: "", StreamStdout: "stdout", StreamStderr: "stderr"}

// criFormat is the CRI format of containerd and CRI-O for the file source.
type criFormat struct {
	seconds rfc3339.Cache
	r       Record
}

func (*criFormat) Name() string { return file.FormatCRI }

// Decode decodes one CRI line. The "\r" of a "\r\n" the container wrote is dropped from the end of a message
// (its F record), so that a message reads the same on a CRI-O node, whose conmon keeps it, as on a containerd
// node, which strips it; a "\r" that ends a P record is content (the message goes on), as is any other, unless
// an empty F record follows: conmon cut the line between its "\r" and "\n" (file.Piece.DropCR).
func (f *criFormat) Decode(line []byte, p *file.Piece) error {
	r := &f.r // not a local: one handed to parseCRI would be allocated per line
	if err := parseCRI(line, &f.seconds, r); err != nil {
		return err
	}
	if n := len(r.Content); !r.Partial && n > 0 && r.Content[n-1] == '\r' {
		r.Content = r.Content[:n-1]
	}
	p.Time, p.Stream, p.Partial, p.Content = r.Time, streamNames[r.Stream], r.Partial, r.Content
	p.DropCR = !r.Partial && len(r.Content) == 0
	return nil
}
