package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flickerlog/flicker/config"
)

func TestParseEnvFile(t *testing.T) {
	t.Setenv("FLICKER_TEST_NAME", "envapp")
	t.Setenv("FLICKER_TEST_MAX", "2048")
	t.Setenv("FLICKER_TEST_LITERAL", "${HOME}")
	t.Setenv("FLICKER_TEST_EMPTY", "")
	for _, name := range []string{"FLICKER_TEST_DIR", "FLICKER_TEST_OUTPUT", "NOT_EXPANDED"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	c, err := config.Load(filepath.Join("testdata", "env.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	in := c.LogFiles[0]
	if in.Name != "envapp" || !reflect.DeepEqual(in.Paths, []string{"/var/log/*.log"}) || in.MaxLineBytes != 2048 {
		t.Errorf("name, paths, max_line_bytes = %q, %q, %d; want envapp, [/var/log/*.log], 2048",
			in.Name, in.Paths, in.MaxLineBytes)
	}
	wantFields := map[string]string{
		"price":           "$5",
		"literal":         "${HOME}", // a value from the environment is not expanded again
		"empty_default":   "fallback",
		"${NOT_EXPANDED}": "key", // keys are not expanded
	}
	if !reflect.DeepEqual(in.Fields, wantFields) {
		t.Errorf("fields = %q, want %q", in.Fields, wantFields)
	}
	if o := c.Outputs[0]; o.Type != "stdout" {
		t.Errorf("outputs[0].type = %q, want the default stdout", o.Type)
	}
}

func TestParseEnvExpansion(t *testing.T) {
	t.Setenv("FLICKER_X", "1")
	t.Setenv("FLICKER_EMPTY", "")
	t.Setenv("FLICKER_INJECT", "${FLICKER_X}$$")
	t.Setenv("FLICKER_UNSET", "")
	os.Unsetenv("FLICKER_UNSET")
	tests := []struct {
		value, want, err string
	}{
		{value: "plain", want: "plain"},
		{value: "$$", want: "$"},
		{value: "a$$b$$$$", want: "a$b$$"},
		{value: "$${FLICKER_X}", want: "${FLICKER_X}"},
		{value: "$$${FLICKER_X}", want: "$1"},
		{value: "${FLICKER_X}", want: "1"},
		{value: "<${FLICKER_X}${FLICKER_X}>", want: "<11>"},
		{value: "${FLICKER_X:-d}", want: "1"},
		{value: "${FLICKER_UNSET:-d}", want: "d"},
		{value: "${FLICKER_EMPTY:-d}", want: "d"},
		{value: "${FLICKER_EMPTY}", want: ""},
		{value: "${FLICKER_UNSET:-}", want: ""},
		{value: "${FLICKER_UNSET:-a:-b c}", want: "a:-b c"},
		{value: "${FLICKER_UNSET:-$$}", want: "$$"}, // a default is inserted as written
		{value: "${FLICKER_INJECT}", want: "${FLICKER_X}$$"},
		{value: "$FLICKER_X", want: "$FLICKER_X"},
		{value: "5$", want: "5$"},
		{value: "^a$|b$", want: "^a$|b$"},
		{value: "${FLICKER_UNSET}", err: "environment variable FLICKER_UNSET is not set (set it, or give a default: ${FLICKER_UNSET:-default})"},
		{value: "x${FLICKER_X", err: `unterminated "${" (write "$$" for a literal "$")`},
		{value: "${}", err: `invalid variable reference "${}": expected ${NAME} or ${NAME:-default}`},
		{value: "${A B}", err: `invalid variable reference "${A B}": expected ${NAME} or ${NAME:-default}`},
		{value: "${X-d}", err: `invalid variable reference "${X-d}": expected ${NAME} or ${NAME:-default}`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			yaml := "log_files:\n  - name: app\n    paths: [/x]\n    fields:\n      v: '" +
				strings.ReplaceAll(tt.value, "'", "''") + "'\noutputs: [{type: stdout}]\n"
			c, err := config.Parse([]byte(yaml), "env.yaml")
			if tt.err != "" {
				assertErrors(t, "env.yaml", err, []wantErr{{5, 10, "log_files[0].fields.v", tt.err}})
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.LogFiles[0].Fields["v"]; got != tt.want {
				t.Errorf("expanded %q to %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}

// Expansion happens before a value is read as a number, boolean or duration.
func TestParseEnvTypedValues(t *testing.T) {
	t.Setenv("FLICKER_EVENTS", "10")
	t.Setenv("FLICKER_WAIT", "50ms")
	t.Setenv("FLICKER_NEGATE", "true")
	c := mustParse(t, `
log_files:
  - name: app
    paths: [/x]
    multiline: {pattern: '^\s', negate: "${FLICKER_NEGATE}"}
outputs: [{type: stdout}]
batch: {max_events: "${FLICKER_EVENTS}", max_wait: "${FLICKER_WAIT}", max_bytes: "${FLICKER_UNSET_BYTES:-1024}"}
`)
	if c.Batch.MaxEvents != 10 || c.Batch.MaxWait.String() != "50ms" || c.Batch.MaxBytes != 1024 {
		t.Errorf("batch = %+v, want max_events 10, max_wait 50ms, max_bytes 1024", c.Batch)
	}
	if !c.LogFiles[0].Multiline.Negate {
		t.Errorf("multiline.negate = false, want true from the environment")
	}
}
