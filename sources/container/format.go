package container

import "github.com/flickerlog/flicker/sources/file"

// Formats returns the container log formats the file source decodes (log_files format, docker_containers), each
// for the use of one source.
func Formats() []file.Format {
	return []file.Format{&dockerFormat{}}
}

// dockerFormat is Docker for the file source.
type dockerFormat struct {
	d Docker
	r Record
}

func (f *dockerFormat) Name() string { return file.FormatDocker }

func (f *dockerFormat) Decode(line []byte, p *file.Piece) error {
	if err := f.d.Decode(line, &f.r); err != nil {
		return err
	}
	p.Time, p.Stream, p.Partial, p.Content = f.r.Time, streamNames[f.r.Stream], f.r.Partial, f.r.Content
	return nil
}

var streamNames = [...]string{StreamUnknown: "", StreamStdout: "stdout", StreamStderr: "stderr"}
