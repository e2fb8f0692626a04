package main

import (
	"github.com/flickerlog/flicker/sources/api"
	"github.com/flickerlog/flicker/sources/file"
	"github.com/flickerlog/flicker/store"
)

// fileRegistry adapts the store to the file source's Registry: the source knows its own state type, the store
// its records, and neither imports the other.
type fileRegistry struct{ db *store.DB }

func (r fileRegistry) Load(input string) ([]file.State, error) {
	recs, err := r.db.Files(input)
	if err != nil {
		return nil, err
	}
	states := make([]file.State, 0, len(recs))
	for _, rec := range recs {
		states = append(states, file.State{
			Inode: rec.Inode, Device: rec.Device, Path: rec.Path, Offset: rec.Offset, Size: rec.Size,
			Generation: rec.Generation, Fingerprint: rec.Fingerprint, FingerprintLen: rec.FingerprintLen,
			LastSeen: rec.LastSeen, Birth: rec.Birth,
		})
	}
	return states, nil
}

func (r fileRegistry) Save(input string, st file.State) {
	r.db.PutFile(store.FileRecord{
		Input: input, Inode: st.Inode, Device: st.Device, Path: st.Path, Offset: st.Offset, Size: st.Size,
		Generation: st.Generation, Fingerprint: st.Fingerprint, FingerprintLen: st.FingerprintLen,
		LastSeen: st.LastSeen, Birth: st.Birth,
	})
}

func (r fileRegistry) Remove(input string, device, inode uint64) {
	r.db.DeleteFile(input, device, inode)
	r.db.DeleteOutputPositions(input, file.StreamKeyPrefix(device, inode))
}

// MoveOutputPositions implements file.OutputPositionsMover.
func (r fileRegistry) MoveOutputPositions(input, from, to string) error {
	return r.db.MoveOutputPositions(input, from, to)
}

// outputPositions adapts the store to the engine's per-output positions. The store queues them with the file
// offsets and commits both in the same transactions, as the engine's ordering argument needs.
type outputPositions struct{ db *store.DB }

func (o outputPositions) Load(input, key string) (map[string]int64, error) {
	return o.db.OutputPositions(input, key)
}

func (o outputPositions) Save(input, key, output string, pos int64) {
	o.db.PutOutputPosition(input, key, output, pos)
}

func (o outputPositions) Clear(input, key string) { o.db.ClearOutputPositions(input, key) }

// outputIDs adapts the store to the engine's per-output event ids (API streams). The store queues them with the
// cursors and commits both in the same transactions, as the engine's ordering argument needs.
type outputIDs struct{ db *store.DB }

// LoadIDs also drops the input's ids under other keys: an API input has one stream, keyed by its endpoint, so
// those were stored under a former endpoint and can never match again (dropping ids costs duplicates at worst).
func (o outputIDs) LoadIDs(input, key string) (map[string][]string, error) {
	o.db.KeepOutputIDsOf(input, key)
	return o.db.OutputIDs(input, key)
}

func (o outputIDs) SaveID(input, key, id, output string) { o.db.PutOutputID(input, key, id, output) }

func (o outputIDs) DeleteID(input, key, id string) { o.db.DeleteOutputID(input, key, id) }

// cursorRegistry adapts the store to the API sources' Registry.
type cursorRegistry struct{ db *store.DB }

func (r cursorRegistry) Load(input string) (api.Cursor, bool, error) {
	rec, ok, err := r.db.Cursor(input)
	if err != nil || !ok {
		return api.Cursor{}, false, err
	}
	return api.Cursor{Next: rec.Cursor, LastTime: rec.LastTime, RecentIDs: rec.RecentIDs, Endpoint: rec.Endpoint,
		ParamsSum: rec.ParamsSum}, true, nil
}

func (r cursorRegistry) Save(input string, c api.Cursor) {
	r.db.PutCursor(store.CursorRecord{Input: input, Cursor: c.Next, LastTime: c.LastTime, RecentIDs: c.RecentIDs,
		Endpoint: c.Endpoint, ParamsSum: c.ParamsSum}) // the source never modifies a Cursor it handed over
}

func (r cursorRegistry) ParamsSum(params map[string]string) string { return r.db.ParamsSum(params) }

// noCursors keeps API cursors in memory only, like noRegistry for files: without --track a restart begins at
// initial_lookback.
type noCursors struct{}

func (noCursors) Load(string) (api.Cursor, bool, error) { return api.Cursor{}, false, nil }
func (noCursors) Save(string, api.Cursor)               {}
func (noCursors) ParamsSum(map[string]string) string    { return "" }

// noRegistry keeps positions nowhere: without --track each start begins at start_position.
type noRegistry struct{}

func (noRegistry) Load(string) ([]file.State, error) { return nil, nil }
func (noRegistry) Save(string, file.State)           {}
func (noRegistry) Remove(string, uint64, uint64)     {}
