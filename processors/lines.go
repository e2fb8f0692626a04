package processors

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/flickerlog/flicker/engine"
	"github.com/flickerlog/flicker/internal/fielderr"
)

// linesStep is include_lines or exclude_lines, Filebeat's filters: the message is matched (anywhere in it,
// unless a pattern anchors itself) against each pattern; include_lines keeps only the events it matches,
// exclude_lines drops them.
type linesStep struct {
	patterns []*regexp.Regexp
	include  bool
}

// newLines compiles the patterns of kind (include_lines or exclude_lines); its errors' paths start with kind.
func newLines(kind string, patterns []string, include bool) (step, error) {
	if len(patterns) == 0 {
		return nil, fielderr.New(kind, "list at least one RE2 pattern")
	}
	l := &linesStep{include: include}
	var errs []error
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			errs = append(errs, fielderr.New(fmt.Sprintf("%s[%d]", kind, i), "%v", err))
			continue
		}
		l.patterns = append(l.patterns, re)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return l, nil
}

func (l *linesStep) run(s *scratch, ev *engine.Event) (bool, error) {
	msg, _ := s.fields.text(defaultField)
	for _, re := range l.patterns {
		if re.Match(msg) {
			return l.include, nil
		}
	}
	return !l.include, nil
}
