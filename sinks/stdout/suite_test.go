package stdout_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/engine/enginetest"
	"github.com/flickerlog/flicker/sinks/stdout"
)

func TestPassesSinkSuite(t *testing.T) {
	enginetest.RunSinkSuite(t, func(t *testing.T) (engine.Sink, func() [][]byte) {
		var out bytes.Buffer
		return stdout.New(&out, zerolog.Nop()), func() [][]byte {
			var msgs [][]byte
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				var doc struct {
					Message string `json:"message"`
				}
				if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
					t.Fatalf("%v: %s", err, sc.Bytes())
				}
				msgs = append(msgs, []byte(doc.Message))
			}
			return msgs
		}
	})
}
