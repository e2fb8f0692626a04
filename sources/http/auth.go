package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// authorized checks the request's credentials against auth_token (in constant time) and answers 401 when they
// do not match. Bearer works everywhere; Splunk on HEC; the basic-auth password, ApiKey <token> and ApiKey
// base64(id:token) on the Elasticsearch endpoints.
func (l *listener) authorized(w http.ResponseWriter, r *http.Request, fam family) bool {
	if l.token == nil {
		return true
	}
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	ok := false
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		ok = l.tokenIs(cred)
	case strings.EqualFold(scheme, "Splunk") && fam == famHEC:
		ok = l.tokenIs(cred)
	case strings.EqualFold(scheme, "Basic") && fam == famES:
		if _, pw, found := r.BasicAuth(); found {
			ok = l.tokenIs(pw)
		}
	case strings.EqualFold(scheme, "ApiKey") && fam == famES:
		ok = l.tokenIs(cred)
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if _, key, found := strings.Cut(string(dec), ":"); found && l.tokenIs(key) {
				ok = true
			}
		}
	}
	if ok {
		return true
	}
	l.stats.reject(RejectAuth)
	switch fam {
	case famHEC:
		e := &hecInvalidToken
		if h == "" {
			e = &hecTokenRequired
		} else if cred == "" {
			e = &hecInvalidAuth
		}
		writeHEC(w, e)
	case famES:
		w.Header().Add("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", "ApiKey")
		w.Header().Add("WWW-Authenticate", "Bearer")
		reason := "unable to authenticate with the provided credentials"
		if h == "" {
			reason = "missing authentication credentials for REST request [" + r.URL.Path + "]"
		}
		writeESError(w, http.StatusUnauthorized, "security_exception", reason)
	default:
		w.Header().Set("WWW-Authenticate", "Bearer")
		writePlainError(w, http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer <auth_token>")
	}
	return false
}

// tokenIs compares digests: equal lengths, so the comparison's time says nothing about the token's length.
func (l *listener) tokenIs(cred string) bool {
	sum := sha256.Sum256([]byte(cred))
	return subtle.ConstantTimeCompare(sum[:], l.token) == 1
}
