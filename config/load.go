package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration file at path; see Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes, expands, defaults and validates a configuration. filename only labels errors and Summary.
// A configuration with problems returns a nil *Config and Errors, every problem found, in file order.
func Parse(data []byte, filename string) (*Config, error) {
	c := &Config{file: filename}
	root, perr := parseDocument(data)
	if perr != nil {
		perr.File = filename
		return nil, Errors{perr}
	}
	d := newDecoder(os.LookupEnv)
	d.root(root, c)
	if !d.overBudget() {
		d.validate(c)
	}
	if len(d.errs) > 0 {
		for _, e := range d.errs {
			e.File = filename
		}
		d.errs.sort()
		return nil, d.errs
	}
	return c, nil
}

// parseDocument parses data into a node tree; nil for an empty file.
func parseDocument(data []byte) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, syntaxError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, &Error{Line: next.Line, Column: next.Column,
			Msg: `a second YAML document: a config file holds one (remove the "---" separator)`}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: did not find expected key") into an Error.
func syntaxError(err error) *Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}
