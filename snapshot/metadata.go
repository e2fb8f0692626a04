package snapshot

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flickerlog/flicker/store"
)

// Object metadata keys (S3 user metadata, sent as x-amz-meta-<key>). metaFormat marks a flicker snapshot.
const (
	metaFormat        = "flicker-format"
	metaEpoch         = "flicker-epoch"
	metaSeq           = "flicker-seq"
	metaCreated       = "flicker-created"
	metaWriter        = "flicker-writer"
	metaHost          = "flicker-host"
	metaInstance      = "flicker-instance"
	metaStoreFormat   = "flicker-store-format"
	metaRawSize       = "flicker-raw-size"
	metaRawSHA256     = "flicker-raw-sha256"
	metaPayloadSize   = "flicker-payload-size"
	metaPayloadSHA256 = "flicker-payload-sha256"
)

// amzMetaPrefix is stripped from keys by minio-go's ObjectInfo.UserMetadata but kept in raw HTTP headers.
const amzMetaPrefix = "x-amz-meta-"

// Metadata returns the header as S3 user metadata, so that listing snapshots needs HEAD requests only. Keys are
// short and lower-case; values are ASCII (the writer id and hostname are percent-escaped), as HTTP headers need.
func (h Header) Metadata() map[string]string {
	return map[string]string{
		metaFormat:        strconv.Itoa(h.FormatVersion),
		metaEpoch:         strconv.FormatUint(h.Epoch, 10),
		metaSeq:           strconv.FormatUint(h.Seq, 10),
		metaCreated:       h.Created.UTC().Format(time.RFC3339Nano),
		metaWriter:        url.PathEscape(h.WriterID),
		metaHost:          url.PathEscape(h.Hostname),
		metaInstance:      url.PathEscape(h.InstanceID),
		metaStoreFormat:   strconv.FormatUint(h.StoreFormat, 10),
		metaRawSize:       strconv.FormatInt(h.RawSize, 10),
		metaRawSHA256:     hex.EncodeToString(h.RawSHA256[:]),
		metaPayloadSize:   strconv.FormatInt(h.PayloadSize, 10),
		metaPayloadSHA256: hex.EncodeToString(h.PayloadSHA256[:]),
	}
}

// HeaderFromMetadata parses what Metadata wrote, as returned by a HEAD request. Keys match in any case, with or
// without the x-amz-meta- prefix (minio-go's UserMetadata has "Flicker-Epoch", raw headers
// "X-Amz-Meta-Flicker-Epoch"). Metadata without flicker-format is ErrNotSnapshot (another program's object); a
// newer format is ErrNewerFormat; missing or malformed fields are ErrCorrupt. The metadata only describes the
// object: Read still verifies the object itself.
func HeaderFromMetadata(m map[string]string) (Header, error) {
	md := make(map[string]string, len(m))
	for k, v := range m {
		k = strings.ToLower(k)
		md[strings.TrimPrefix(k, amzMetaPrefix)] = v
	}
	if _, ok := md[metaFormat]; !ok {
		return Header{}, fmt.Errorf("object metadata has no %s: %w", metaFormat, ErrNotSnapshot)
	}
	p := metaParser{md: md}
	h := Header{FormatVersion: int(p.number(metaFormat, 31))}
	if p.err == nil && h.FormatVersion > FormatVersion {
		return Header{}, &newerError{what: "snapshot", got: uint64(h.FormatVersion), want: FormatVersion}
	}
	h.Epoch = p.uint(metaEpoch)
	h.Seq = p.uint(metaSeq)
	h.Created = p.time(metaCreated)
	h.WriterID = p.text(metaWriter)
	h.Hostname = p.text(metaHost)
	h.InstanceID = p.text(metaInstance)
	h.StoreFormat = p.uint(metaStoreFormat)
	if p.err == nil && h.StoreFormat > store.FormatVersion {
		// Written by a newer flicker (a rollback after an upgrade): refused after a HEAD, never replaced by an
		// older state.
		return Header{}, &newerError{what: "registry", got: h.StoreFormat, want: store.FormatVersion}
	}
	h.RawSize = p.size(metaRawSize)
	h.RawSHA256 = p.sha(metaRawSHA256)
	h.PayloadSize = p.size(metaPayloadSize)
	h.PayloadSHA256 = p.sha(metaPayloadSHA256)
	if p.err == nil && h.FormatVersion == 0 {
		p.err = errors.New("format version 0")
	}
	if err := errors.Join(p.err, h.validate()); err != nil {
		return Header{}, fmt.Errorf("object metadata: %w: %w", err, ErrCorrupt)
	}
	return h, nil
}

// metaParser keeps the first error, so HeaderFromMetadata reads like a list of fields.
type metaParser struct {
	md  map[string]string
	err error
}

func (p *metaParser) get(key string) (string, bool) {
	if p.err != nil {
		return "", false
	}
	v, ok := p.md[key]
	if !ok {
		p.err = fmt.Errorf("%s is missing", key)
	}
	return v, ok
}

func (p *metaParser) uint(key string) uint64 { return p.number(key, 64) }

// size is a byte count: it must fit an int64.
func (p *metaParser) size(key string) int64 { return int64(p.number(key, 63)) }

func (p *metaParser) number(key string, bits int) uint64 {
	v, ok := p.get(key)
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		p.err = fmt.Errorf("%s %q is not a number", key, v)
	}
	return n
}

func (p *metaParser) time(key string) time.Time {
	v, ok := p.get(key)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		p.err = fmt.Errorf("%s %q is not an RFC 3339 time", key, v)
	}
	return t.UTC()
}

func (p *metaParser) text(key string) string {
	v, ok := p.get(key)
	if !ok {
		return ""
	}
	s, err := url.PathUnescape(v)
	if err != nil {
		p.err = fmt.Errorf("%s %q: %v", key, v, err)
	}
	return s
}

func (p *metaParser) sha(key string) [32]byte {
	var sum [32]byte
	if v, ok := p.get(key); ok {
		if err := decodeSHA(&sum, v, key); err != nil {
			p.err = err
		}
	}
	return sum
}
