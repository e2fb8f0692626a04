package kubemeta

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/flickerlog/flicker/internal/fielderr"
)

// listPageSize is the page size of a list read from etcd (resourceVersion unset, after a 410); a list from the
// API server's watch cache (resourceVersion=0, the first one) comes whole, whatever the limit.
const listPageSize = 500

// podObject is the part of a pod's JSON the cache reads; encoding/json skips the rest (managedFields, the spec
// but for the node name, the status) without keeping it. Status fields are there for a watch's ERROR event,
// whose object is a Status.
type podObject struct {
	Metadata struct {
		Name            string            `json:"name"`
		Namespace       string            `json:"namespace"`
		UID             string            `json:"uid"`
		ResourceVersion string            `json:"resourceVersion"`
		Labels          map[string]string `json:"labels"`
		Annotations     map[string]string `json:"annotations"`
		OwnerReferences []ownerReference  `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`

	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type ownerReference struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Controller *bool  `json:"controller"`
}

// StatusError is the API server's refusal of a list or watch: the HTTP status (or the watch ERROR event's
// code) and the Status body's reason and message.
type StatusError struct {
	Code    int
	Reason  string
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("api server answered %d %s: %s", e.Code, e.Reason, e.Message)
}

func isGone(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusGone
}

func statusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// apiClient makes the pods' list and watch requests of one node.
type apiClient struct {
	pods      string // https://host/api/v1/pods
	selector  string // spec.nodeName=<node>
	http      *http.Client
	transport *http.Transport
}

func newAPIClient(cfg Config) (*apiClient, error) {
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fielderr.New("ca_file", "%v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fielderr.New("ca_file", "%s holds no PEM certificate: give the API server's CA (the service account's ca.crt)", cfg.CAFile)
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 2,
		ForceAttemptHTTP2:   true,
		// A watch reads nothing for minutes when nothing changes: pings find a dead connection (a node that
		// lost its route, a restarted load balancer) in under a minute, as client-go's health check does.
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second},
		ExpectContinueTimeout: time.Second,
	}
	base, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, fielderr.New("host", "%v", err)
	}
	return &apiClient{
		pods:      base.JoinPath("api", "v1", "pods").String(),
		selector:  "spec.nodeName=" + cfg.Node,
		http:      &http.Client{Transport: &tokenTransport{file: cfg.TokenFile, base: transport}},
		transport: transport,
	}, nil
}

// get sends a GET of the pods with the query; an answer other than 200 is a *StatusError.
func (c *apiClient) get(ctx context.Context, q url.Values) (*http.Response, error) {
	q.Set("fieldSelector", c.selector)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.pods+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "flicker")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	se := &StatusError{Code: resp.StatusCode, Reason: http.StatusText(resp.StatusCode)}
	var body podObject
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) == nil && body.Message != "" {
		se.Reason, se.Message = body.Reason, body.Message
	}
	return nil, se
}

// list reads the node's pods, page by page, calling each for every pod as it is decoded, and returns the
// list's resourceVersion. rv "0" reads the API server's cache, "" a consistent list.
func (c *apiClient) list(ctx context.Context, rv string, each func(*podObject)) (string, error) {
	var listRV, next string
	for page := 0; ; page++ {
		q := url.Values{}
		if next != "" {
			q.Set("continue", next)
		} else {
			q.Set("resourceVersion", rv)
		}
		q.Set("limit", strconv.Itoa(listPageSize))
		resp, err := c.get(ctx, q)
		if err != nil {
			return "", err
		}
		pageRV, cont, err := decodeList(resp.Body, each)
		resp.Body.Close()
		if err != nil {
			return "", fmt.Errorf("list page %d: %w", page, err)
		}
		if page == 0 {
			listRV = pageRV
		}
		if cont == "" {
			return listRV, nil
		}
		next = cont
	}
}

// decodeList decodes a PodList from r, one item at a time.
func decodeList(r io.Reader, each func(*podObject)) (rv, cont string, err error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return "", "", err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", "", err
		}
		switch key, _ := tok.(string); key {
		case "metadata":
			var meta struct {
				ResourceVersion string `json:"resourceVersion"`
				Continue        string `json:"continue"`
			}
			if err := dec.Decode(&meta); err != nil {
				return "", "", fmt.Errorf("metadata: %w", err)
			}
			rv, cont = meta.ResourceVersion, meta.Continue
		case "items":
			if err := expectDelim(dec, '['); err != nil {
				return "", "", fmt.Errorf("items: %w", err)
			}
			for i := 0; dec.More(); i++ {
				var pod podObject
				if err := dec.Decode(&pod); err != nil {
					return "", "", fmt.Errorf("items[%d]: %w", i, err)
				}
				each(&pod)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return "", "", fmt.Errorf("items: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", "", fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return "", "", err
	}
	if rv == "" {
		return "", "", errors.New("the list has no resourceVersion")
	}
	return rv, cont, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("got %v, want %v", tok, want)
	}
	return nil
}

// watch streams the changes after rv, calling each for every pod event, until the server ends the watch (nil),
// an ERROR event (a *StatusError; 410 when rv fell out of the server's history), a failure or ctx's end. It
// returns the last resourceVersion seen (rv when none) and whether any event came.
func (c *apiClient) watch(ctx context.Context, rv string, each func(typ string, pod *podObject)) (string, bool, error) {
	q := url.Values{}
	q.Set("watch", "true")
	q.Set("resourceVersion", rv)
	q.Set("allowWatchBookmarks", "true")
	// Between 5 and 10 minutes, as client-go, so the watches of many nodes do not end together.
	q.Set("timeoutSeconds", strconv.Itoa(300+rand.IntN(300)))
	resp, err := c.get(ctx, q)
	if err != nil {
		return rv, false, err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	got := false
	for {
		var ev struct {
			Type   string    `json:"type"`
			Object podObject `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) {
				return rv, got, nil
			}
			return rv, got, fmt.Errorf("watch: %w", err)
		}
		got = true
		switch ev.Type {
		case "ADDED", "MODIFIED", "DELETED":
			each(ev.Type, &ev.Object)
		case "BOOKMARK":
		case "ERROR":
			return rv, got, &StatusError{Code: ev.Object.Code, Reason: ev.Object.Reason, Message: ev.Object.Message}
		default:
			return rv, got, fmt.Errorf("watch: unknown event type %q", ev.Type)
		}
		if v := ev.Object.Metadata.ResourceVersion; v != "" {
			rv = v
		}
	}
}
