package chaos

import (
	"testing"
	"time"
)

// TestLedgerCheck pins the check's rules (doc.go) on a hand-made history: pod 0 starts empty and is killed; pod 1
// restored pod 0's registry as it was at 10s.
func TestLedgerCheck(t *testing.T) {
	start := time.Unix(1000, 0)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	pods := []podView{{}, {lineage: []link{{pod: 0, taken: int64(10 * time.Second)}}}}
	pods[0].outputs[outFile], pods[1].outputs[outFile] = true, true
	const slack = time.Second

	tests := []struct {
		name    string
		deliver func(l *ledger) // deliveries of f000 seq 0
		allowed bool            // its part may be lost
		want    verdict
	}{
		{"once", func(l *ledger) { l.delivered(outFile, 0, message("f000", 0, 0, 1, 40), at(5)) }, false,
			verdict{}},
		{"never", func(*ledger) {}, false, verdict{Lost: 1}},
		{"never, part deleted while down", func(*ledger) {}, true, verdict{AllowedLost: 1}},
		{"again after the snapshot was taken", func(l *ledger) {
			l.delivered(outFile, 0, message("f000", 0, 0, 1, 40), at(9.5)) // within slack of 10s
			l.delivered(outFile, 1, message("f000", 0, 0, 1, 40), at(20))
		}, false, verdict{Duplicates: map[string]int{"file": 1}}},
		{"again though the snapshot held it", func(l *ledger) {
			l.delivered(outFile, 0, message("f000", 0, 0, 1, 40), at(5))
			l.delivered(outFile, 1, message("f000", 0, 0, 1, 40), at(20))
		}, false, verdict{OutOfWindow: 1}},
		{"twice by one pod", func(l *ledger) {
			l.delivered(outFile, 1, message("f000", 0, 0, 1, 40), at(20))
			l.delivered(outFile, 1, message("f000", 0, 0, 1, 40), at(21))
		}, false, verdict{OutOfWindow: 1}},
		{"twice by one pod, the first answer lost", func(l *ledger) {
			l.delivered(outFile, 1, message("f000", 0, 0, 1, 40), at(20))
			l.delivered(outFile, 1, message("f000", 0, 0, 1, 40), at(21)) // recorded before the loss is known
			l.lostReply(outFile, 1, message("f000", 0, 0, 1, 40))
		}, false, verdict{Duplicates: map[string]int{"file": 1}, AfterLostReply: map[string]int{"file": 1}}},
		{"three times by one pod, one answer lost", func(l *ledger) {
			l.delivered(outFile, 1, message("f000", 0, 0, 1, 40), at(20))
			l.lostReply(outFile, 1, message("f000", 0, 0, 1, 40))
			l.delivered(outFile, 1, message("f000", 0, 0, 1, 40), at(21))
			l.delivered(outFile, 1, message("f000", 0, 0, 1, 40), at(22))
		}, false, verdict{OutOfWindow: 1, Duplicates: map[string]int{"file": 1}, AfterLostReply: map[string]int{"file": 1}}},
		{"never written", func(l *ledger) {
			l.delivered(outFile, 0, message("f000", 0, 0, 1, 40), at(5))
			l.delivered(outFile, 0, message("f000", 7, 0, 1, 40), at(5))
		}, false, verdict{Phantoms: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(start)
			l.wrote(l.stream("f000"), 0, 1, 3, false, at(1), 40)
			tt.deliver(l)
			got := l.check(pods, slack, func(part int32) bool { return part == 3 && tt.allowed })
			if got.Lost != tt.want.Lost || got.AllowedLost != tt.want.AllowedLost ||
				got.OutOfWindow != tt.want.OutOfWindow || got.Phantoms != tt.want.Phantoms ||
				got.Duplicates["file"] != tt.want.Duplicates["file"] ||
				got.AfterLostReply["file"] != tt.want.AfterLostReply["file"] {
				t.Errorf("lost %d, allowed %d, out of window %d, never written %d, duplicates %d (%d after a lost "+
					"answer); want %d, %d, %d, %d, %d (%d)", got.Lost, got.AllowedLost, got.OutOfWindow, got.Phantoms,
					got.Duplicates["file"], got.AfterLostReply["file"], tt.want.Lost, tt.want.AllowedLost,
					tt.want.OutOfWindow, tt.want.Phantoms, tt.want.Duplicates["file"], tt.want.AfterLostReply["file"])
			}
		})
	}
}

// TestLedgerLongLine: a long line is written as pieces; each piece is an event of its own that must arrive.
func TestLedgerLongLine(t *testing.T) {
	start := time.Unix(1000, 0)
	l := newLedger(start)
	l.wrote(l.stream("f001"), 4, 3, 0, false, start, 2048)
	for _, p := range []int{0, 2} {
		l.delivered(outFile, 0, message("f001", 4, p, 3, 2048), start)
	}
	pods := []podView{{}}
	pods[0].outputs[outFile] = true
	got := l.check(pods, time.Second, func(int32) bool { return false })
	if got.Lines != 1 || got.Written != 3 || got.Lost != 1 || got.Delivered["file"] != 2 {
		t.Errorf("lines %d, events %d, lost %d, delivered %d; want 1, 3, 1, 2", got.Lines, got.Written, got.Lost,
			got.Delivered["file"])
	}
	if m := message("f001", 4, 1, 3, 2048); len(m) != 2048 {
		t.Errorf("a piece is %d bytes, want max_line_bytes 2048", len(m))
	}
}

// TestLedgerOutputsOfTheLastReader: a unit must reach the outputs of the last pod that delivered it anywhere:
// pod 0 (file and http) is killed with the http output behind; pod 1 (file and elasticsearch) reads it again.
func TestLedgerOutputsOfTheLastReader(t *testing.T) {
	start := time.Unix(1000, 0)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	pods := []podView{{}, {lineage: []link{{pod: 0, taken: int64(10 * time.Second)}}}}
	pods[0].outputs = [numOutputs]bool{outFile: true, outHTTP: true}
	pods[1].outputs = [numOutputs]bool{outFile: true, outES: true}
	msg := message("f000", 0, 0, 1, 40)
	tests := []struct {
		name     string
		deliver  func(l *ledger)
		wantLost int
	}{
		{"read again by pod 1: its outputs", func(l *ledger) {
			l.delivered(outFile, 0, msg, at(12))
			l.delivered(outFile, 1, msg, at(20))
			l.delivered(outES, 1, msg, at(20))
		}, 0},
		{"pod 1 misses its elasticsearch output", func(l *ledger) {
			l.delivered(outFile, 0, msg, at(12))
			l.delivered(outFile, 1, msg, at(20))
		}, 1},
		{"pod 0 was the last: its http output", func(l *ledger) { l.delivered(outFile, 0, msg, at(5)) }, 1},
	}
	wantLost := map[string]string{ // DIR/lost.txt's line: where else the unit went
		"pod 1 misses its elasticsearch output": "f000 seq 0 piece 1: never reached elasticsearch (written at " +
			"1.000s, part 3); delivered file:pod0@12.000s file:pod1@20.000s",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(start)
			l.wrote(l.stream("f000"), 0, 1, 3, false, at(1), 40)
			tt.deliver(l)
			if got := l.check(pods, time.Second, func(int32) bool { return false }); got.Lost != tt.wantLost {
				t.Errorf("lost %d, want %d (samples %v)", got.Lost, tt.wantLost, got.Samples)
			} else if want, ok := wantLost[tt.name]; ok && (len(got.lost) != 1 || got.lost[0] != want) {
				t.Errorf("lost list %q, want [%q]", got.lost, want)
			}
		})
	}
}

// TestLedgerPositionIsAPrefix: a position passes a unit only once every unit before it in the file was
// acknowledged, so a unit delivered early is in the window while an earlier one waited for a retry. Pod 0 delivered
// seq 1 at 5s and seq 0 only at 9.5s (for a container stream, at its second output); pod 1 restored pod 0's
// registry as it was at 10s and delivered seq 1 again to both outputs. A plain file keeps a position per output: only
// the output that waited for seq 0 may have seq 1 again.
func TestLedgerPositionIsAPrefix(t *testing.T) {
	start := time.Unix(1000, 0)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	pods := []podView{{}, {lineage: []link{{pod: 0, taken: int64(10 * time.Second)}}}}
	pods[0].outputs = [numOutputs]bool{outFile: true, outES: true}
	pods[1].outputs = [numOutputs]bool{outFile: true, outES: true}
	tests := []struct {
		name      string
		container bool
		seq0At    [numOutputs]float64 // when pod 0 delivered seq 0 to file and elasticsearch
		want      int                 // deliveries again out of the window
	}{
		{"a plain file: seq 0 retried at file", false, [numOutputs]float64{outFile: 9.5, outES: 5}, 1},
		{"a plain file: seq 0 done early", false, [numOutputs]float64{outFile: 5, outES: 5}, 2},
		{"a container: seq 0 retried at the other output", true, [numOutputs]float64{outFile: 5, outES: 9.5}, 0},
		{"a container: seq 0 done early", true, [numOutputs]float64{outFile: 5, outES: 5}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(start)
			s := l.stream("f000")
			for seq := range uint32(2) {
				l.wrote(s, seq, 1, 3, tt.container, at(1), 40)
			}
			for _, o := range []uint8{outFile, outES} {
				l.delivered(o, 0, message("f000", 1, 0, 1, 40), at(5))
				l.delivered(o, 0, message("f000", 0, 0, 1, 40), at(tt.seq0At[o]))
			}
			l.delivered(outFile, 1, message("f000", 1, 0, 1, 40), at(20))
			l.delivered(outES, 1, message("f000", 1, 0, 1, 40), at(20))
			got := l.check(pods, time.Second, func(int32) bool { return false })
			if got.OutOfWindow != tt.want || got.Lost != 0 {
				t.Errorf("out of window %d, lost %d; want %d, 0 (samples %v)", got.OutOfWindow, got.Lost, tt.want,
					got.Samples)
			}
		})
	}
}
