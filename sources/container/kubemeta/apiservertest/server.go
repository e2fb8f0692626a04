package apiservertest

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// watchBuffer is how many events a watch may lag behind before the server ends it, as the API server ends a
// watcher too slow to keep up.
const watchBuffer = 256

// Server is a running fake API server. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's https URL, for the client's host setting.
	URL string
	// CAFile holds the PEM certificate the server's certificate is checked against.
	CAFile string

	srv     *httptest.Server
	closing chan struct{}

	mu        sync.Mutex
	token     string
	delay     time.Duration
	paused    chan struct{} // non-nil while paused; closed by Resume
	failNext  int
	failCode  int
	rv        int64
	oldest    int64                  // the oldest resourceVersion a watch may start from; older ones answer 410
	pods      map[string]*corev1.Pod // by namespace/name
	history   []event
	watches   map[*watch]struct{}
	requests  []string
	lists     int
	watchReqs int
}

type event struct {
	typ  string
	rv   int64
	old  *corev1.Pod // nil for an added pod
	pod  *corev1.Pod // nil for a bookmark
	gone bool        // an ERROR 410 that ends the watch
}

type watch struct {
	node      string
	bookmarks bool
	events    chan event
	done      chan struct{} // closed to end the watch from the server's side
	ended     bool
}

// Start starts a server whose valid token is token; t's cleanup closes it.
func Start(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{
		token:   token,
		rv:      100,
		pods:    make(map[string]*corev1.Pod),
		watches: make(map[*watch]struct{}),
		closing: make(chan struct{}),
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.EnableHTTP2 = true // as the API server: a cancelled watch resets its stream, the connection stays
	s.srv.StartTLS()
	s.URL = s.srv.URL
	s.CAFile = filepath.Join(t.TempDir(), "ca.crt")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close ends every watch and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closing:
		s.mu.Unlock()
		return
	default:
		close(s.closing)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// SetToken changes the valid bearer token ("" accepts every request).
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	s.token = token
	s.mu.Unlock()
}

// SetDelay makes the following requests wait d before they are answered (a slow API server).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Pause makes the following requests wait until Resume (or the client goes), as an unreachable server, while
// the test changes the pods unseen.
func (s *Server) Pause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused == nil {
		s.paused = make(chan struct{})
	}
}

// Resume lets the paused requests go on.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused != nil {
		close(s.paused)
		s.paused = nil
	}
}

// FailNext makes the next n requests answer code (a 5xx, 429...) with a Status body.
func (s *Server) FailNext(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failCode = n, code
}

// AddPod adds a pod, or replaces the one with its namespace and name (MODIFIED), giving it the next
// resourceVersion. A pod without a UID gets namespace/name as its UID.
func (s *Server) AddPod(pod *corev1.Pod) {
	pod = pod.DeepCopy()
	pod.TypeMeta = metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}
	if pod.UID == "" {
		pod.UID = types.UID("uid-" + pod.Namespace + "-" + pod.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rv++
	pod.ResourceVersion = strconv.FormatInt(s.rv, 10)
	key := pod.Namespace + "/" + pod.Name
	old := s.pods[key]
	s.pods[key] = pod
	typ := "ADDED"
	if old != nil {
		typ = "MODIFIED"
	}
	s.publish(event{typ: typ, rv: s.rv, old: old, pod: pod})
}

// DeletePod deletes a pod; it reports whether there was one.
func (s *Server) DeletePod(namespace, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := namespace + "/" + name
	old := s.pods[key]
	if old == nil {
		return false
	}
	delete(s.pods, key)
	s.rv++
	pod := old.DeepCopy()
	pod.ResourceVersion = strconv.FormatInt(s.rv, 10)
	s.publish(event{typ: "DELETED", rv: s.rv, old: old, pod: pod})
	return true
}

// Bookmark sends a BOOKMARK with the current resourceVersion to the watches that allow them.
func (s *Server) Bookmark() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watches {
		if w.bookmarks {
			s.send(w, event{typ: "BOOKMARK", rv: s.rv})
		}
	}
}

// Compact drops the history, as etcd's compaction does: a watch from any resourceVersion before now answers
// 410 Gone, so the client lists again. Open watches go on.
func (s *Server) Compact() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compact()
}

func (s *Server) compact() {
	s.history = nil
	s.rv++ // the compaction's own revision: a list after it gives a resourceVersion a watch may start from
	s.oldest = s.rv
}

// Expire compacts and ends every open watch with an ERROR event carrying a 410 Expired Status, as the API
// server does to a watch that fell out of its history.
func (s *Server) Expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compact()
	for w := range s.watches {
		s.send(w, event{typ: "ERROR", gone: true})
		s.end(w)
	}
}

// CloseWatches ends the open watches cleanly, as the API server does when a watch's timeout passes.
func (s *Server) CloseWatches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watches {
		s.end(w)
	}
}

// Counts returns the number of list requests and of watch requests answered so far (refused ones included).
func (s *Server) Counts() (lists, watches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists, s.watchReqs
}

// Requests returns the path and query of every request so far, in arrival order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// publish records an event and sends it to the open watches. Called under mu.
func (s *Server) publish(e event) {
	s.history = append(s.history, e)
	for w := range s.watches {
		s.send(w, e)
	}
}

// send queues an event for one watch, ending a watch that lags too far behind. Called under mu.
func (s *Server) send(w *watch, e event) {
	if w.ended {
		return
	}
	select {
	case w.events <- e:
	default:
		s.end(w)
	}
}

// end ends a watch from the server's side. Called under mu.
func (s *Server) end(w *watch) {
	if !w.ended {
		w.ended = true
		close(w.done)
	}
	delete(s.watches, w)
}

func (s *Server) serve(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	watching := q.Get("watch") == "true" || q.Get("watch") == "1"
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.RequestURI())
	if watching {
		s.watchReqs++
	} else {
		s.lists++
	}
	token, delay, paused := s.token, s.delay, s.paused
	fail := 0
	if s.failNext > 0 {
		s.failNext--
		fail = s.failCode
	}
	s.mu.Unlock()

	if paused != nil {
		select {
		case <-paused:
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
	if fail != 0 {
		writeStatus(rw, fail, metav1.StatusReasonInternalError, "injected failure")
		return
	}

	if delay > 0 {
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return
		case <-s.closing:
			timer.Stop()
			return
		}
	}
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		writeStatus(rw, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
		return
	}
	if r.Method != http.MethodGet || r.URL.Path != "/api/v1/pods" {
		writeStatus(rw, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
		return
	}
	node, ok := strings.CutPrefix(q.Get("fieldSelector"), "spec.nodeName=")
	if !ok || strings.ContainsAny(node, ",=!") {
		writeStatus(rw, http.StatusBadRequest, metav1.StatusReasonBadRequest,
			fmt.Sprintf("this fake answers only fieldSelector=spec.nodeName=<node>, not %q", q.Get("fieldSelector")))
		return
	}
	if !watching {
		s.list(rw, node, q)
		return
	}
	if q.Get("sendInitialEvents") != "" {
		writeStatus(rw, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid,
			"sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled")
		return
	}
	s.watch(rw, r, node, q.Get("resourceVersion"), q.Get("allowWatchBookmarks") == "true")
}

// list writes the PodList item by item, as the API server streams a large list, so that the server's own memory
// does not blur a measurement of the client's. A list with a limit and a resourceVersion other than "0" is
// paged, with a continue token, as one read from etcd; resourceVersion=0 (the watch cache) comes whole.
func (s *Server) list(rw http.ResponseWriter, node string, q url.Values) {
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, listRV := 0, int64(0)
	if cont := q.Get("continue"); cont != "" {
		rvText, offText, ok := strings.Cut(cont, "/")
		var err1, err2 error
		listRV, err1 = strconv.ParseInt(rvText, 10, 64)
		offset, err2 = strconv.Atoi(offText)
		if !ok || err1 != nil || err2 != nil {
			writeStatus(rw, http.StatusBadRequest, metav1.StatusReasonBadRequest, "invalid continue token")
			return
		}
	}
	if q.Get("resourceVersion") == "0" && q.Get("continue") == "" {
		limit = 0
	}
	s.mu.Lock()
	if listRV == 0 {
		listRV = s.rv
	}
	var pods []*corev1.Pod // stored pods are never changed, only replaced: safe to encode after unlocking
	for _, pod := range s.pods {
		if pod.Spec.NodeName == node {
			pods = append(pods, pod)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	pods = pods[min(offset, len(pods)):]
	cont := ""
	if limit > 0 && len(pods) > limit {
		pods = pods[:limit]
		cont = fmt.Sprintf("%d/%d", listRV, offset+limit)
	}
	rw.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(rw, 32<<10)
	fmt.Fprintf(bw, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"%d","continue":%q},"items":[`, listRV, cont)
	enc := json.NewEncoder(bw)
	for i, pod := range pods {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		if enc.Encode(pod) != nil {
			return
		}
	}
	_, _ = bw.WriteString("]}\n")
	_ = bw.Flush()
}

func (s *Server) watch(rw http.ResponseWriter, r *http.Request, node, rvParam string, bookmarks bool) {
	s.mu.Lock()
	// Room for the backlog, so that only a client lagging behind new events is cut off.
	w := &watch{node: node, bookmarks: bookmarks, done: make(chan struct{}),
		events: make(chan event, watchBuffer+len(s.pods)+len(s.history))}
	var from int64
	var initial []event
	if rvParam == "" || rvParam == "0" {
		// From now, with the current pods as ADDED events, as the API server starts such a watch.
		from = s.rv
		for _, pod := range s.pods {
			initial = append(initial, event{typ: "ADDED", rv: s.rv, pod: pod})
		}
	} else {
		var err error
		from, err = strconv.ParseInt(rvParam, 10, 64)
		if err != nil {
			s.mu.Unlock()
			writeStatus(rw, http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("invalid resourceVersion %q", rvParam))
			return
		}
		if from < s.oldest {
			s.mu.Unlock()
			writeStatus(rw, http.StatusGone, metav1.StatusReasonExpired,
				fmt.Sprintf("too old resource version: %d (%d)", from, s.oldest))
			return
		}
	}
	for _, e := range initial {
		w.events <- e
	}
	for _, e := range s.history {
		if e.rv > from {
			s.send(w, e)
		}
	}
	s.watches[w] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.end(w)
		s.mu.Unlock()
	}()

	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Transfer-Encoding", "chunked")
	rw.WriteHeader(http.StatusOK)
	flusher, _ := rw.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(rw)
	// write sends one event; false ends the watch.
	write := func(e event) bool {
		if !writeEvent(enc, w, e) {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return !e.gone
	}
	for {
		select {
		case e := <-w.events:
			if !write(e) {
				return
			}
		case <-w.done:
			// What was queued before the end still goes out, as the API server sends what it had.
			for {
				select {
				case e := <-w.events:
					if !write(e) {
						return
					}
				default:
					return
				}
			}
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
}

// writeEvent writes e as this watch sees it through its field selector; false when the client is gone.
func writeEvent(enc *json.Encoder, w *watch, e event) bool {
	type wire struct {
		Type   string `json:"type"`
		Object any    `json:"object"`
	}
	switch {
	case e.gone:
		return enc.Encode(wire{"ERROR", status(http.StatusGone, metav1.StatusReasonExpired, "The resourceVersion for the provided watch is too old.")}) == nil
	case e.typ == "BOOKMARK":
		return enc.Encode(wire{"BOOKMARK", &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{ResourceVersion: strconv.FormatInt(e.rv, 10)},
		}}) == nil
	}
	was := e.old != nil && e.old.Spec.NodeName == w.node
	is := e.pod.Spec.NodeName == w.node
	typ := e.typ
	switch {
	case e.typ == "DELETED":
		if !was {
			return true
		}
	case was && is:
		typ = "MODIFIED"
	case is:
		typ = "ADDED"
	case was:
		typ = "DELETED"
	default:
		return true
	}
	return enc.Encode(wire{typ, e.pod}) == nil
}

func status(code int, reason metav1.StatusReason, message string) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Code:     int32(code),
		Reason:   reason,
		Message:  message,
	}
}

func writeStatus(rw http.ResponseWriter, code int, reason metav1.StatusReason, message string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	_ = json.NewEncoder(rw).Encode(status(code, reason, message))
}
