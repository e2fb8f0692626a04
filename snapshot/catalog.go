package snapshot

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flickerlog/flicker/internal/s3client"
)

var (
	// ErrMissing means there is no object at the key (404).
	ErrMissing = errors.New("no object at the key")
	// ErrDenied means the store answered 403. On AWS that is also how a missing key looks to a caller without
	// s3:ListBucket, so it is ambiguous for the latest key (see Restore).
	ErrDenied = errors.New("access denied")
)

// statConcurrency bounds the HEAD requests List sends at once.
const statConcurrency = 32

// Entry is one stored snapshot object as a HEAD request (its metadata) describes it.
type Entry struct {
	Key       string
	Slot      int // -1 for the latest, else the history slot
	VersionID string
	Latest    bool // for versions: the current version
	Header    Header
	Size      int64
	ETag      string
	Modified  time.Time
	// Err is set when the object exists but its metadata is not a usable snapshot header: ErrNotSnapshot (another
	// program's object), ErrNewerFormat, or ErrCorrupt.
	Err error
}

// newer orders entries by (epoch, seq), newest first.
func newer(a, b Entry) int {
	if c := cmp.Compare(b.Header.Epoch, a.Header.Epoch); c != 0 {
		return c
	}
	return cmp.Compare(b.Header.Seq, a.Header.Seq)
}

// Stat HEADs one snapshot object (a version of it when versionID is set). A missing object is ErrMissing, a 403
// ErrDenied (both wrapped in an explained error); metadata problems are in Entry.Err, not the error.
func Stat(ctx context.Context, client *minio.Client, bucket, key, versionID string) (Entry, error) {
	info, err := client.StatObject(ctx, bucket, key, minio.StatObjectOptions{VersionID: versionID})
	if err != nil {
		return Entry{}, classify(err, s3client.OpHeadObject, bucket, key)
	}
	e := Entry{Key: key, Slot: -1, VersionID: info.VersionID, Latest: info.IsLatest, Size: info.Size,
		ETag: info.ETag, Modified: info.LastModified}
	e.Header, e.Err = HeaderFromMetadata(info.UserMetadata)
	if errors.Is(e.Err, ErrNotSnapshot) && info.Size > 0 {
		// No flicker metadata: a copy made by a tool that dropped it (download and upload again) is still a
		// complete snapshot, so read the header from the object itself.
		h, err := sniffHeader(ctx, client, bucket, key, versionID)
		switch {
		case err == nil:
			e.Header, e.Err = h, nil
		case errors.Is(err, ErrNotSnapshot) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNewerFormat):
			e.Err = err
		default:
			return Entry{}, err
		}
	}
	return e, nil
}

// sniffHeader reads the header at the start of an object with a ranged GET.
func sniffHeader(ctx context.Context, client *minio.Client, bucket, key, versionID string) (Header, error) {
	opts := minio.GetObjectOptions{VersionID: versionID}
	if err := opts.SetRange(0, int64(prefixSize+MaxHeaderSize+4-1)); err != nil {
		return Header{}, err
	}
	obj, err := client.GetObject(ctx, bucket, key, opts)
	if err != nil {
		return Header{}, classify(err, s3client.OpGetObject, bucket, key)
	}
	defer obj.Close()
	h, err := ReadHeader(obj)
	if err != nil && s3client.ToErrorResponse(err).StatusCode != 0 {
		return Header{}, classify(err, s3client.OpGetObject, bucket, key)
	}
	return h, err
}

// classify explains err and marks 404 and 403 with ErrMissing and ErrDenied.
func classify(err error, op, bucket, key string) error {
	explained := s3client.Explain(err, op, bucket, key)
	r := s3client.ToErrorResponse(err)
	switch {
	case r.Code == "NoSuchBucket":
		return explained
	case r.Code == "NoSuchKey" || r.Code == "NoSuchVersion" || r.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %w", ErrMissing, explained)
	case r.Code == "AccessDenied" || r.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrDenied, explained)
	}
	return explained
}

// Retryable reports an error worth retrying: no answer from the store (network, timeout, a cut connection) or a
// 5xx/SlowDown answer. A 4xx answer, a verification failure, missing credentials or a local problem will not
// change by waiting.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrMissing) || errors.Is(err, ErrDenied) || errors.Is(err, ErrNotSnapshot) ||
		errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNewerFormat) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrTooLarge) || errors.Is(err, s3client.ErrNoCredentials) {
		return false
	}
	if r := s3client.ToErrorResponse(err); r.Code != "" || r.StatusCode != 0 {
		return r.StatusCode >= 500 || r.Code == "SlowDown" || r.Code == "RequestTimeout"
	}
	var explained *s3client.Error
	var netErr net.Error
	return errors.As(err, &explained) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// List HEADs the latest object and every history slot (a few at a time) and returns the objects that exist: the
// latest first (Slot -1), then history slots newest first by (epoch, seq). Slots that are missing or denied are
// skipped (without ListBucket, AWS answers 403 for a missing key); any other error ends the listing.
func List(ctx context.Context, client *minio.Client, keys Keys, slots int) ([]Entry, error) {
	latest, err := Stat(ctx, client, keys.Bucket, keys.Latest, "")
	if err != nil && !errors.Is(err, ErrMissing) && !errors.Is(err, ErrDenied) {
		return nil, err
	}
	var out []Entry
	if err == nil {
		out = append(out, latest)
	}
	history, err := listHistory(ctx, client, keys, slots)
	return append(out, history...), err
}

// listHistory HEADs every history slot and returns the existing ones, newest first.
func listHistory(ctx context.Context, client *minio.Client, keys Keys, slots int) ([]Entry, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		found    []Entry
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, statConcurrency)
	)
	for n := range max(slots, 0) {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			e, err := Stat(ctx, client, keys.Bucket, keys.History(n), "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				e.Slot = n
				found = append(found, e)
			case errors.Is(err, ErrMissing) || errors.Is(err, ErrDenied):
			case firstErr == nil:
				firstErr = err
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("list history of %s: %w", keys, firstErr)
	}
	slices.SortFunc(found, newer)
	return found, nil
}

// Versions lists the stored versions of the latest key, newest first. It needs s3:ListBucketVersions and a
// bucket with versioning enabled; it is for disaster recovery, never for normal operation.
func Versions(ctx context.Context, client *minio.Client, keys Keys) ([]Entry, error) {
	var out []Entry
	opts := minio.ListObjectsOptions{Prefix: keys.Latest, WithVersions: true, WithMetadata: true}
	for obj := range client.ListObjects(ctx, keys.Bucket, opts) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list versions of %s: %w", keys,
				s3client.Explain(obj.Err, "ListBucketVersions", keys.Bucket, keys.Latest))
		}
		if obj.Key != keys.Latest || obj.IsDeleteMarker {
			continue
		}
		e, err := Stat(ctx, client, keys.Bucket, keys.Latest, obj.VersionID)
		if err != nil {
			return nil, fmt.Errorf("version %s of %s: %w", obj.VersionID, keys, err)
		}
		e.Latest = obj.IsLatest
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return b.Modified.Compare(a.Modified) })
	return out, nil
}

// Progress is told how many bytes of total were downloaded so far; total is -1 when unknown.
type Progress func(done, total int64)

// Fetch downloads a snapshot object (a version of it when versionID is set), verifies it and installs the
// registry inside at dstPath (see Read). It returns the header and the object's ETag. ErrMissing and ErrDenied
// come from the request; ErrNotSnapshot, ErrCorrupt and ErrNewerFormat from verification; ErrTooLarge from the
// room at dstPath; anything else is worth a retry (Retryable).
func Fetch(ctx context.Context, client *minio.Client, bucket, key, versionID, dstPath string, progress Progress) (Header, string, error) {
	obj, err := client.GetObject(ctx, bucket, key, minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		return Header{}, "", classify(err, s3client.OpGetObject, bucket, key)
	}
	defer obj.Close()
	// minio-go's Stat between two Reads turns the object's size into what is left to read, and Read then stops
	// at that offset, short of the end. So Stat comes first (a HEAD, only for a progress report, which needs the
	// size) or last, when the whole object is read: minio-go then answers it from the GET's reply.
	var total int64
	if progress != nil {
		info, err := obj.Stat()
		if err != nil {
			return Header{}, "", classify(err, s3client.OpGetObject, bucket, key)
		}
		total = info.Size
	}
	body := bufio.NewReaderSize(obj, 32<<10)
	if _, err := body.Peek(1); err != nil && !errors.Is(err, io.EOF) {
		return Header{}, "", classify(err, s3client.OpGetObject, bucket, key)
	}
	var r io.Reader = body
	if progress != nil {
		r = &progressReader{r: body, total: total, report: progress}
	}
	h, err := Read(r, dstPath)
	if err != nil {
		return h, "", fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		return h, "", classify(err, s3client.OpGetObject, bucket, key)
	}
	return h, info.ETag, nil
}

// progressReader reports download progress at most every 4 MiB and at the end.
type progressReader struct {
	r           io.Reader
	done, total int64
	last        int64
	report      Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.done-p.last >= 4<<20 || err == io.EOF {
		p.last = p.done
		p.report(p.done, p.total)
	}
	return n, err
}

// ErrConflict means a conditional write was refused (412, or 404 for If-Match on a key that is gone): another
// instance wrote the object in between.
var ErrConflict = errors.New("conditional write refused")
