package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HTTPOptions are the settings of PostHTTP beyond Options.
type HTTPOptions struct {
	Options
	Token       string // sent as "Authorization: Bearer <Token>" when not empty
	ContentType string // default "application/x-ndjson"
}

// defaultRetryAfter is the wait after a 429 or 503 that has no usable Retry-After.
const defaultRetryAfter = 100 * time.Millisecond

// maxRetryAfter caps the wait a Retry-After asks for, so that a misbehaving server cannot stall a run for long.
const maxRetryAfter = 30 * time.Second

// PostHTTP POSTs p's chunks to url as request bodies from o.Senders clients at once, each waiting for its answer
// before sending the next (one kept-alive connection each). A 200 counts the body's events; a 429 or 503 sends
// the same body again after its Retry-After; any other answer or a transport error ends the run with an error
// (and the Result so far).
func PostHTTP(ctx context.Context, url string, p Payload, o HTTPOptions) (Result, error) {
	transport := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		MaxIdleConnsPerHost: max(o.Senders, 1),
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	contentType := o.ContentType
	if contentType == "" {
		contentType = "application/x-ndjson"
	}
	return run(ctx, p, o.Options, func(ctx context.Context, c *counters, take func() ([]byte, int64, bool)) error {
		for {
			body, events, ok := take()
			if !ok {
				return nil
			}
			for {
				status, retryAfter, err := post(ctx, client, url, contentType, o.Token, body)
				if err != nil {
					return err
				}
				if status == http.StatusOK {
					c.done(events, int64(len(body)))
					break
				}
				c.retries.Add(1)
				select {
				case <-ctx.Done():
					return nil // the run's cause says why
				case <-time.After(retryAfter):
				}
			}
		}
	})
}

// post sends one body and returns 200, or 429/503 with the wait the server asked for; any other answer is an
// error.
func post(ctx context.Context, client *http.Client, url, contentType, token string, body []byte) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("post %s: %w", url, err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("post %s: %w", url, err)
	}
	// Read the answer to its end so that the connection is kept alive for the next request.
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("post %s: read the answer: %w", url, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.StatusCode, 0, nil
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), time.Now()), nil
	default:
		return 0, 0, fmt.Errorf("post %s: %s: %s", url, resp.Status, strings.TrimSpace(string(answer)))
	}
}

// retryAfter reads a Retry-After value, seconds or an HTTP date (RFC 9110 10.2.3), as a wait from now.
func retryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	wait := defaultRetryAfter
	if s, err := strconv.Atoi(value); err == nil && s >= 0 {
		wait = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(value); err == nil {
		wait = max(t.Sub(now), 0)
	}
	return min(wait, maxRetryAfter)
}
