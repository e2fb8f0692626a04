package config

import (
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"time"

	sinkfile "github.com/flickerlog/flicker/sinks/file"
	"gopkg.in/yaml.v3"
)

// validate applies defaults and checks c: each input and file output through its own SetDefaults and
// Validate, and here what spans entries (dead-letter chains, queue size, outputs an input would read back).
func (d *decoder) validate(c *Config) {
	d.validateInputs(c)
	d.validateProcessors(c)
	d.validateOutputs(c.Outputs)
	d.validatePipeline(&c.Batch, &c.Queue)
	d.queueHoldsObjects(c.Outputs, c.Queue)
	d.outputsNotRead(c)
}

func (d *decoder) validateInputs(c *Config) {
	files, dockers, kubes, apis, syslogs, https := c.LogFiles, c.DockerContainers, c.Kubernetes, c.APISources, c.SyslogSources, c.HTTPSources
	if len(files)+len(dockers)+len(kubes)+len(apis)+len(syslogs)+len(https) == 0 {
		d.problem("log_files", "no inputs: add at least one entry under log_files, docker_containers, kubernetes, api_sources, syslog_sources or http_sources")
	}
	seen := make(map[string]string) // input name -> the path of its first entry
	name := func(p, n string) {
		if first, dup := seen[n]; dup {
			d.problem(p+".name", "duplicate input name %q (also %s): input names must be unique across inputs", n, first)
		} else if n == "" {
			d.problem(p+".name", "required: every input needs a name, unique across inputs (read positions are stored under it)")
		} else {
			seen[n] = p
		}
	}
	for i := range files {
		in := &files[i]
		p := fmt.Sprintf("log_files[%d]", i)
		name(p, in.Name)
		d.explicitZeros(in, p, tailingPositiveKeys)
		if in.Multiline != nil {
			d.explicitZeros(in.Multiline, p+".multiline", multilinePositiveKeys)
		}
		in.SetDefaults()
		d.fromValidator(p, in.Validate())
	}
	for i := range dockers {
		in := &dockers[i]
		p := fmt.Sprintf("docker_containers[%d]", i)
		name(p, in.Name)
		d.explicitZeros(in, p, tailingPositiveKeys)
		if in.Multiline != nil {
			d.explicitZeros(in.Multiline, p+".multiline", multilinePositiveKeys)
		}
		in.SetDefaults()
		d.fromValidator(p, in.Validate())
	}
	for i := range kubes {
		in := &kubes[i]
		p := fmt.Sprintf("kubernetes[%d]", i)
		name(p, in.Name)
		d.explicitZeros(in, p, append([]string{"metadata_wait"}, tailingPositiveKeys...))
		if in.Multiline != nil {
			d.explicitZeros(in.Multiline, p+".multiline", multilinePositiveKeys)
		}
		in.SetDefaults()
		d.fromValidator(p, in.Validate())
	}
	for i := range apis {
		in := &apis[i]
		p := fmt.Sprintf("api_sources[%d]", i)
		name(p, in.Name)
		d.explicitZeros(in, p, apiPositiveKeys)
		in.SetDefaults()
		d.fromValidator(p, in.Validate())
	}
	// Listening sources: one per transport and address (an http source and a tcp syslog source cannot share one).
	listening := make(map[string]string) // "tcp :8088" -> the path of its first entry
	listen := func(p, transport, address string) {
		if _, port, err := net.SplitHostPort(address); err != nil || port == "0" {
			return // a bad address is the source's own error; port 0 picks a free port each time
		}
		key := transport + " " + address
		if first, dup := listening[key]; dup {
			d.problem(p+".address", "address %s (%s) is also %s's: each source listens on its own", address, transport, first)
		} else {
			listening[key] = p
		}
	}
	for i := range syslogs {
		in := &syslogs[i]
		p := fmt.Sprintf("syslog_sources[%d]", i)
		name(p, in.Name)
		d.explicitZeros(in, p, []string{"max_message_bytes", "max_connections"})
		in.SetDefaults()
		d.fromValidator(p, in.Validate())
		transport := "tcp"
		if in.Protocol == "udp" {
			transport = "udp"
		}
		listen(p, transport, in.Address)
	}
	for i := range https {
		in := &https[i]
		p := fmt.Sprintf("http_sources[%d]", i)
		name(p, in.Name)
		d.explicitZeros(in, p, httpPositiveKeys)
		in.SetDefaults()
		d.fromValidator(p, in.Validate())
		listen(p, "tcp", in.Address)
	}
}

// tailingPositiveKeys are the keys of log_files, docker_containers and kubernetes entries whose zero value means
// the default, and multilinePositiveKeys those of their multiline: an explicit 0 is an error.
var (
	tailingPositiveKeys = []string{"max_line_bytes", "scan_interval", "close_inactive", "clean_removed_after",
		"max_open_files", "join_timeout"}
	multilinePositiveKeys = []string{"timeout", "max_lines", "max_bytes"}
)

// httpPositiveKeys are the http_sources keys whose zero value means the default: an explicit 0 is an error.
var httpPositiveKeys = []string{"max_body_bytes", "ack_timeout"}

// apiPositiveKeys are the api_sources keys whose zero value means the default: an explicit 0 is an error.
var apiPositiveKeys = []string{"polling_frequency_ms", "polling_frequency", "initial_lookback", "timeout", "max_pages_per_poll"}

func (d *decoder) validateOutputs(outputs []Output) {
	if len(outputs) == 0 {
		d.problem("outputs", "no outputs: add at least one entry under outputs (type: %s)", strings.Join(outputTypes, ", "))
	}
	byName := make(map[string]int)
	for i := range outputs {
		o := &outputs[i]
		p := fmt.Sprintf("outputs[%d]", i)
		switch {
		case o.Type == "":
			d.problem(p+".type", "required: one of %s", strings.Join(outputTypes, ", "))
		case !slices.Contains(outputTypes, o.Type):
			d.problem(p+".type", "unknown output type %q (known: %s)", o.Type, strings.Join(outputTypes, ", "))
		}
		if o.Name == "" {
			o.Name = o.Type
		}
		if strings.HasSuffix(o.Name, ".dead_letter") {
			// The engine names an output's dead-letter file writer so, in /metrics and the registry.
			d.problem(p+".name", "%q: a name ending in .dead_letter is taken by the dead-letter writers of outputs", o.Name)
		}
		if first, dup := byName[o.Name]; dup && o.Name != "" {
			hint := ""
			if !d.present(p + ".name") {
				hint = "; an output's name defaults to its type"
			}
			d.problem(p+".name", "duplicate output name %q (also outputs[%d]%s): give each output its own name", o.Name, first, hint)
		} else if o.Name != "" {
			byName[o.Name] = i
		}
		d.retry(&o.Retry, p+".retry")
		if o.DeadLetter != nil {
			d.deadLetter(o.DeadLetter, p+".dead_letter")
		}
		if tc := o.typeConfig(); tc != nil {
			d.explicitZeros(tc, p, positiveKeys[o.Type])
			tc.SetDefaults()
			d.fromValidator(p, tc.Validate())
		}
	}
	d.deadLetterOutputs(outputs, byName)
}

// positiveKeys are the keys of each output type whose zero value means "the default" in the type's config, so an
// explicit 0 in the file (which would silently become the default) is an error, as for the other settings.
var positiveKeys = map[string][]string{
	OutputHTTP:          {"timeout", "max_retry_after", "workers"},
	OutputElasticsearch: {"bulk_max_bytes", "timeout", "workers"},
	OutputS3:            {"max_object_bytes", "max_object_age", "upload_timeout", "max_open_objects"},
}

// explicitZeros reports the keys of tc that the file sets to zero.
func (d *decoder) explicitZeros(tc any, p string, keys []string) {
	v := reflect.ValueOf(tc).Elem()
	index := fieldIndex(v.Type())
	for _, k := range keys {
		i, ok := index[k]
		if ok && d.present(p+"."+k) && v.FieldByIndex(i).IsZero() {
			d.problem(p+"."+k, "must be positive (leave it out for the default)")
		}
	}
}

func (d *decoder) retry(r *Retry, p string) {
	positive(d, &r.Initial, DefaultRetryInitial, p+".initial")
	positive(d, &r.Max, DefaultRetryMax, p+".max")
	if r.Initial > 0 && r.Max > 0 && r.Max < r.Initial {
		d.problem(p+".max", "must be at least retry.initial (%s)", r.Initial)
	}
}

// deadLetter checks the form of one dead_letter and fills the defaults of the file form.
func (d *decoder) deadLetter(dl *DeadLetter, p string) {
	fileForm := d.present(p+".path") || d.present(p+".max_bytes") || d.present(p+".max_files") ||
		d.present(p+".mode")
	switch {
	case dl.Output != "" && fileForm:
		d.problem(p, "set either output (another output's name) or path (a dead-letter file, with max_bytes, max_files and mode), not both")
	case dl.Output != "":
		// Checked against the other outputs by deadLetterOutputs.
	case dl.Path == "":
		d.problem(p, "set path (a dead-letter file) or output (another output's name)")
	default:
		positive(d, &dl.MaxBytes, DefaultDeadLetterMaxBytes, p+".max_bytes")
		positive(d, &dl.MaxFiles, DefaultDeadLetterMaxFiles, p+".max_files")
		if _, err := sinkfile.ParseMode(dl.Mode); err != nil {
			d.problem(p+".mode", "%v", err)
		}
	}
}

// deadLetterOutputs checks that each dead_letter.output names another output and that following them never
// comes back to where it started.
func (d *decoder) deadLetterOutputs(outputs []Output, byName map[string]int) {
	next := make(map[int]int) // output index -> index of its dead-letter output
	for i, o := range outputs {
		if o.DeadLetter == nil || o.DeadLetter.Output == "" {
			continue
		}
		p := fmt.Sprintf("outputs[%d].dead_letter.output", i)
		j, ok := byName[o.DeadLetter.Output]
		switch {
		case o.DeadLetter.Output == o.Name:
			d.problem(p, "names this output itself: name another output, or use path for a dead-letter file")
		case !ok:
			d.problem(p, "no output named %q (outputs: %s)", o.DeadLetter.Output, outputNames(outputs))
		default:
			next[i] = j
		}
	}
	for start := range outputs {
		chain := []string{outputs[start].Name}
		lowest := start
		for i, ok := next[start]; ok && len(chain) <= len(outputs); i, ok = next[i] {
			chain = append(chain, outputs[i].Name)
			lowest = min(lowest, i)
			if i != start {
				continue
			}
			// Report a cycle once, from its first output.
			if lowest == start {
				d.problem(fmt.Sprintf("outputs[%d].dead_letter.output", start),
					"dead-letter cycle %s: a chain of dead letters must end in a file or an output without dead_letter",
					strings.Join(chain, " -> "))
			}
			break
		}
	}
}

// queueHoldsObjects checks that the queue can hold a whole S3 object: the S3 output acknowledges an object's events
// only once the object is written, so with a smaller queue it would wait forever for events that cannot come.
func (d *decoder) queueHoldsObjects(outputs []Output, q Queue) {
	for i, o := range outputs {
		if o.S3 == nil || o.S3.MaxObjectBytes <= 0 || int64(q.MaxBytes) > o.S3.MaxObjectBytes {
			continue
		}
		d.problem(fmt.Sprintf("outputs[%d].max_object_bytes", i), "%d must be below queue.max_bytes (%d): an "+
			"object's events are acknowledged only once the whole object is written, so the queue must hold one; "+
			"lower max_object_bytes or raise queue.max_bytes", o.S3.MaxObjectBytes, q.MaxBytes)
	}
}

func (d *decoder) validatePipeline(b *Batch, q *Queue) {
	positive(d, &b.MaxEvents, DefaultBatchMaxEvents, "batch.max_events")
	positive(d, &b.MaxBytes, DefaultBatchMaxBytes, "batch.max_bytes")
	positive(d, &b.MaxWait, DefaultBatchMaxWait, "batch.max_wait")
	positive(d, &q.MaxEvents, DefaultQueueMaxEvents, "queue.max_events")
	positive(d, &q.MaxBytes, DefaultQueueMaxBytes, "queue.max_bytes")
	if b.MaxBytes > 0 && q.MaxBytes > 0 && q.MaxBytes < b.MaxBytes {
		// Point at whichever of the two the file sets; a full batch has to fit in the queue.
		if d.present("queue.max_bytes") {
			d.problem("queue.max_bytes", "must be at least batch.max_bytes (%d): a full batch has to fit in the queue", b.MaxBytes)
		} else {
			d.problem("batch.max_bytes", "must not exceed queue.max_bytes (%d): a full batch has to fit in the queue", q.MaxBytes)
		}
	}
}

// positive sets *v to def when the file does not set it, and otherwise requires it to be positive: an explicit
// 0 is a mistake, not a request for the default.
func positive[T int | int64 | time.Duration](d *decoder, v *T, def T, path string) {
	if !d.present(path) {
		*v = def
		return
	}
	if *v <= 0 {
		d.problem(path, "must be positive, got %v", *v)
	}
}

// present reports whether the file gives the field at path a value.
func (d *decoder) present(path string) bool {
	l, ok := d.at[path]
	if !ok || l.value == nil {
		return false
	}
	v := l.value
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	return v != nil && !isNull(v)
}

// fromValidator records the errors returned by a source's or sink's Validate for the entry at prefix.
func (d *decoder) fromValidator(prefix string, err error) {
	for _, leaf := range leafErrors(err) {
		path, msg := fieldError(prefix, leaf)
		d.problem(path, "%s", msg)
	}
}

// problem records a validation error at path, located at the field or, when the file does not set it, at its
// nearest enclosing entry. It is dropped when an earlier error is about the same field or one containing it:
// validation then sees a zero value there and would only repeat that error.
func (d *decoder) problem(path, format string, args ...any) {
	for p := path; ; p = parentPath(p) {
		if d.failed[p] {
			return
		}
		if p == "" {
			break
		}
	}
	d.failed[path] = true
	line, col := d.locate(path)
	d.errs = append(d.errs, &Error{Line: line, Column: col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// locate returns the position of the field at path, or of its nearest parent present in the file.
func (d *decoder) locate(path string) (line, column int) {
	for p := path; ; p = parentPath(p) {
		if l, ok := d.at[p]; ok {
			n := l.key
			if n == nil {
				n = l.value
			}
			if n != nil {
				return n.Line, n.Column
			}
		}
		if p == "" {
			return 0, 0
		}
	}
}

func outputNames(outputs []Output) string {
	names := make([]string, 0, len(outputs))
	for _, o := range outputs {
		if o.Name != "" {
			names = append(names, o.Name)
		}
	}
	return strings.Join(names, ", ")
}
