package enginetest

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// MemoryPositions is an engine.OutputPositions and engine.OutputIDs in memory: give the same value to the
// pipelines of successive runs, like a registry across restarts. It records contract violations: a saved
// position lower than the one stored for the same output (positions only grow within a stream), an id saved
// twice for the same output.
type MemoryPositions struct {
	mu        sync.Mutex
	pos       map[string]map[string]int64           // input + "\x00" + key -> output -> position
	ids       map[string]map[string]map[string]bool // input + "\x00" + key -> id -> outputs
	saves     int
	clears    int
	idSaves   int
	idDeletes int
	errors    []string
}

// NewMemoryPositions returns an empty store.
func NewMemoryPositions() *MemoryPositions {
	return &MemoryPositions{pos: make(map[string]map[string]int64), ids: make(map[string]map[string]map[string]bool)}
}

func streamKey(input, key string) string { return input + "\x00" + key }

// Load implements engine.OutputPositions.
func (m *MemoryPositions) Load(input, key string) (map[string]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.pos[streamKey(input, key)]), nil
}

// Save implements engine.OutputPositions.
func (m *MemoryPositions) Save(input, key, output string, pos int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saves++
	k := streamKey(input, key)
	if m.pos[k] == nil {
		m.pos[k] = make(map[string]int64)
	}
	if prev, ok := m.pos[k][output]; ok && pos < prev {
		m.errors = append(m.errors, fmt.Sprintf("stream %s/%s output %s: saved %d after %d", input, key, output,
			pos, prev))
	}
	m.pos[k][output] = pos
}

// Clear implements engine.OutputPositions.
func (m *MemoryPositions) Clear(input, key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clears++
	delete(m.pos, streamKey(input, key))
}

// Positions returns the stored positions of a stream by output; nil when it has none.
func (m *MemoryPositions) Positions(input, key string) map[string]int64 {
	p, _ := m.Load(input, key)
	return p
}

// Streams is how many streams have stored positions.
func (m *MemoryPositions) Streams() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pos)
}

// Saves counts the Save calls so far.
func (m *MemoryPositions) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

// Clears counts the Clear calls so far.
func (m *MemoryPositions) Clears() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.clears
}

// Errors returns the contract violations seen.
func (m *MemoryPositions) Errors() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.errors...)
}

// LoadIDs implements engine.OutputIDs.
func (m *MemoryPositions) LoadIDs(input, key string) (map[string][]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored := m.ids[streamKey(input, key)]
	if len(stored) == 0 {
		return nil, nil
	}
	out := make(map[string][]string, len(stored))
	for id, outs := range stored {
		out[id] = slices.Sorted(maps.Keys(outs))
	}
	return out, nil
}

// SaveID implements engine.OutputIDs.
func (m *MemoryPositions) SaveID(input, key, id, output string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.idSaves++
	k := streamKey(input, key)
	if m.ids[k] == nil {
		m.ids[k] = make(map[string]map[string]bool)
	}
	if m.ids[k][id] == nil {
		m.ids[k][id] = make(map[string]bool)
	}
	if m.ids[k][id][output] {
		m.errors = append(m.errors, fmt.Sprintf("stream %s/%s output %s: id %s saved twice", input, key, output, id))
	}
	m.ids[k][id][output] = true
}

// DeleteID implements engine.OutputIDs.
func (m *MemoryPositions) DeleteID(input, key, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.idDeletes++
	k := streamKey(input, key)
	delete(m.ids[k], id)
	if len(m.ids[k]) == 0 {
		delete(m.ids, k)
	}
}

// IDs returns the stored ids of a stream, by output, sorted; nil when it has none.
func (m *MemoryPositions) IDs(input, key string) map[string][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out map[string][]string
	for id, outs := range m.ids[streamKey(input, key)] {
		if out == nil {
			out = make(map[string][]string)
		}
		for o := range outs {
			out[o] = append(out[o], id)
		}
	}
	for o := range out {
		slices.Sort(out[o])
	}
	return out
}

// IDStreams is how many streams have stored ids.
func (m *MemoryPositions) IDStreams() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ids)
}

// IDSaves counts the SaveID calls so far.
func (m *MemoryPositions) IDSaves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idSaves
}

// IDDeletes counts the DeleteID calls so far.
func (m *MemoryPositions) IDDeletes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idDeletes
}
