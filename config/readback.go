package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/flickerlog/flicker/sources/file"
)

// writtenFile is a file flicker appends to: a file output's or a dead letter's.
type writtenFile struct {
	field   string // the field that sets it: outputs[1].path, outputs[2].dead_letter.path
	owner   string // for messages: output "archive", the dead letter of output "es"
	path    string // as configured
	rotated int    // rotated names kept beside it: path.1 … path.N
}

// writtenFiles lists the files the outputs write, with their rotated names.
func writtenFiles(outputs []Output) []writtenFile {
	var out []writtenFile
	for i, o := range outputs {
		if f := o.File; f != nil && f.Path != "" {
			rotated := 0
			if f.RotateBytes > 0 {
				rotated = f.RotateFiles
			}
			out = append(out, writtenFile{field: fmt.Sprintf("outputs[%d].path", i),
				owner: fmt.Sprintf("output %q", o.Name), path: f.Path, rotated: rotated})
		}
		if dl := o.DeadLetter; dl != nil && dl.Output == "" && dl.Path != "" {
			// A dead-letter file always rotates (max_bytes, max_files).
			out = append(out, writtenFile{field: fmt.Sprintf("outputs[%d].dead_letter.path", i),
				owner: fmt.Sprintf("the dead letter of output %q", o.Name), path: dl.Path, rotated: dl.MaxFiles})
		}
	}
	return out
}

// outputsNotRead refuses a file output or a dead-letter file that a log_files input would read, itself or one of
// its rotated names: flicker would ship its own events again, adding more each time, until the disk is full.
//
// Paths are compared as they are used: a relative one against the working directory (as the file source and the
// file output resolve them), cleaned, and also with the symbolic links of the directories that exist resolved, in
// the written path and in the literal directory a glob starts with (links under a wildcard are not followed
// here). An input's exclude applies as the source applies it, to the path its glob would find. `flicker validate`
// run elsewhere than the shipper sees that machine's working directory and links, not the shipper's.
func (d *decoder) outputsNotRead(c *Config) {
	globs := inputGlobs(c.LogFiles)
	for _, w := range writtenFiles(c.Outputs) {
		names := []string{w.path}
		for n := 1; n <= w.rotated; n++ {
			names = append(names, w.path+"."+strconv.Itoa(n))
		}
		for _, name := range names {
			g, seen, ok := readBy(name, globs)
			if !ok {
				continue
			}
			what := fmt.Sprintf("%s writes %s", w.owner, w.path)
			if name != w.path {
				what = fmt.Sprintf("%s rotates %s to %s", w.owner, w.path, name)
			}
			as := ""
			if seen != name {
				as = " as " + seen
			}
			d.problem(w.field, "%s, which input %q reads%s (log_files[%d].paths[%d] %q): flicker would ship its own "+
				"events again and again until the disk is full; write it outside the input's paths, or add it to "+
				"the input's exclude", what, g.in.Name, as, g.input, g.index, g.in.Paths[g.index])
			break
		}
	}
}

// inputGlob is one glob of a log_files input, absolute, with the literal directory it starts with, as written and
// with its links resolved.
type inputGlob struct {
	in           *file.Config
	input, index int // log_files[input].paths[index]
	glob         string
	base         string
	resolvedBase string
}

func inputGlobs(inputs []file.Config) []inputGlob {
	var out []inputGlob
	for i := range inputs {
		for j, p := range inputs[i].Paths {
			glob, err := filepath.Abs(p)
			if err != nil {
				continue
			}
			base, _ := doublestar.SplitPattern(glob)
			out = append(out, inputGlob{in: &inputs[i], input: i, index: j, glob: glob, base: base,
				resolvedBase: resolveDirs(base)})
		}
	}
	return out
}

// readBy returns the first glob that would read the file at name, and the path the glob would find it at.
func readBy(name string, globs []inputGlob) (inputGlob, string, bool) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return inputGlob{}, "", false
	}
	views := []string{abs}
	if resolved := resolveDirs(abs); resolved != abs {
		views = append(views, resolved)
	}
	for _, g := range globs {
		for _, v := range views {
			candidates := []string{v}
			if rel, ok := under(g.resolvedBase, v); ok && g.resolvedBase != g.base {
				// The glob reaches v through a link: it finds it under its own base.
				candidates = append(candidates, filepath.Join(g.base, rel))
			}
			for _, c := range candidates {
				if ok, _ := doublestar.PathMatch(g.glob, c); ok && !g.in.Excluded(c) {
					return g, c, true
				}
			}
		}
	}
	return inputGlob{}, "", false
}

// resolveDirs resolves the symbolic links of the longest part of the absolute path p that exists, and appends the
// rest: where p is, or would be once created.
func resolveDirs(p string) string {
	rest := ""
	for dir := p; ; {
		if resolved, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(resolved, rest)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return p
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
	}
}

// under reports whether p is inside dir, and its path relative to dir.
func under(dir, p string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}
