package config

import (
	"reflect"

	"github.com/flickerlog/flicker/processors"
	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/container"
	"github.com/flickerlog/flicker/sources/file"
	httpsrc "github.com/flickerlog/flicker/sources/http"
	"github.com/flickerlog/flicker/sources/syslog"
)

// processorsKey is the key of every input's processors list. The sources do not know processors (DESIGN.md
// section 2, item 7): the decoder takes the key out of each input entry, next to the source's own keys, and
// keeps the list in Config.Processors.
const processorsKey = "processors"

// inputTypes are the config types of the input entries, which take a processors list.
var inputTypes = map[reflect.Type]bool{
	reflect.TypeFor[file.Config]():          true,
	reflect.TypeFor[container.Config]():     true,
	reflect.TypeFor[container.KubeConfig](): true,
	reflect.TypeFor[api.Config]():           true,
	reflect.TypeFor[syslog.Config]():        true,
	reflect.TypeFor[httpsrc.Config]():       true,
}

// inputProcessors is the processors list of the input entry at path.
type inputProcessors struct {
	path  string // "log_files[0]"
	input string // the entry's name
	list  []processors.Config
}

// processors decodes the processors key of the input entry at path, if it is among pairs, and returns the other
// pairs. input is the entry's config, decoded from the other pairs already: its name keys the list.
func (d *decoder) processors(pairs []pair, input reflect.Value, path string) (rest []pair) {
	for _, p := range pairs {
		if p.key.Value != processorsKey {
			rest = append(rest, p)
			continue
		}
		fp := joinPath(path, processorsKey)
		d.at[fp] = p
		var list []processors.Config
		d.decode(p.value, reflect.ValueOf(&list).Elem(), fp)
		if len(list) > 0 {
			d.procs = append(d.procs, inputProcessors{path: path, input: input.FieldByName("Name").String(), list: list})
		}
	}
	return rest
}

// validateProcessors checks every input's processors list (patterns, layouts, one kind per item), locating each
// problem at its field ("log_files[0].processors[2].dissect.pattern"), and keeps the lists by input name.
func (d *decoder) validateProcessors(c *Config) {
	for _, ip := range d.procs {
		prefix := joinPath(ip.path, processorsKey)
		d.fromValidator(prefix, processors.Validate(ip.list))
		if c.Processors == nil {
			c.Processors = make(map[string][]processors.Config)
		}
		c.Processors[ip.input] = ip.list
	}
}
