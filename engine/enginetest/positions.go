package enginetest

import (
	"fmt"
	"maps"
	"sync"
)

// MemoryPositions is an engine.OutputPositions in memory: give the same value to the pipelines of successive runs,
// like a registry across restarts. It records contract violations: a saved position lower than the one stored
// for the same output (positions only grow within a stream).
type MemoryPositions struct {
	mu     sync.Mutex
	pos    map[string]map[string]int64 // input + "\x00" + key -> output -> position
	saves  int
	clears int
	errors []string
}

// NewMemoryPositions returns an empty store.
func NewMemoryPositions() *MemoryPositions {
	return &MemoryPositions{pos: make(map[string]map[string]int64)}
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
