package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"retune/internal/jsontype"
)

// checkJSONContentType says what is wrong with a JSON body's Content-Type
// ("" when nothing is; a body without one is read as JSON). JSON is UTF-8
// (RFC 8259): a body labelled otherwise would be read as UTF-8 all the
// same, or refused byte by byte.
func checkJSONContentType(h string) string {
	if h == "" {
		return ""
	}
	return checkContentType(h, "application/json", "the JSON")
}

// checkMultipartContentType says what is wrong with an upload's
// Content-Type ("" when nothing is). Uploaded files are read as UTF-8, so
// a body labelled with another charset is refused as a JSON one is.
func checkMultipartContentType(h string) string {
	return checkContentType(h, "multipart/form-data", "the files")
}

// checkContentType says what is wrong with Content-Type h for a route that
// reads want, in UTF-8. A malformed header is named in words, not the
// mime package's ("mime: expected token after slash").
func checkContentType(h, want, what string) string {
	mt, params, err := mime.ParseMediaType(h) // lower-cases the media type
	switch {
	case err != nil && h != "":
		typ, _, _ := strings.Cut(h, ";")
		if _, _, err := mime.ParseMediaType(typ); err == nil {
			return fmt.Sprintf("Content-Type %q has a malformed or repeated parameter (each is name=value, once, after a ';'): send %s", h, want)
		}
		return fmt.Sprintf("Content-Type %q is not a valid media type: send %s", h, want)
	case err == nil && !strings.Contains(mt, "/"):
		// The mime package takes a lone token ("json"), which no media type is.
		return fmt.Sprintf("Content-Type %q is not a valid media type (type/subtype): send %s", h, want)
	case mt != want:
		return fmt.Sprintf("content type %q: send %s", mt, want)
	}
	if cs, ok := params["charset"]; ok && !utf8Charset(cs) {
		return fmt.Sprintf("charset %q: send %s as UTF-8", cs, what)
	}
	return ""
}

// utf8Charset reports whether a charset label names UTF-8 or a subset of
// it (ASCII), which a UTF-8 reader reads as sent.
func utf8Charset(cs string) bool {
	switch strings.ToLower(cs) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// decodeJSON reads a strict JSON body into dst: unknown fields, trailing data
// and bodies over the limit are errors the caller reports as 400 / 413.
// It writes the error response itself and returns false on failure.
func decodeJSON(c *gin.Context, dst any) bool {
	if msg := checkJSONContentType(c.GetHeader("Content-Type")); msg != "" {
		abort(c, http.StatusUnsupportedMediaType, codeInvalidRequest, msg)
		return false
	}
	// The body is checked as UTF-8 before decoding because encoding/json
	// turns invalid bytes into U+FFFD silently; after this check a U+FFFD
	// in a decoded string was really sent (scraped text often has them).
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		switch {
		case isTooLarge(err):
			abortTooLarge(c, bodyLimitOf(err))
		case errors.Is(err, errBodyCut):
			abort(c, clientClosed, codeInvalidRequest, errBodyCut.Error())
		case errors.Is(err, os.ErrDeadlineExceeded):
			abort(c, http.StatusRequestTimeout, codeInvalidRequest, "the request body did not arrive in time: send it at once, not trickled")
		default:
			badRequest(c, "could not read the request body: "+err.Error())
		}
		return false
	}
	if at := invalidUTF8At(body); at >= 0 {
		badRequest(c, fmt.Sprintf("request body is not valid UTF-8 (byte %d)", at))
		return false
	}
	// A byte-order mark (Windows tools write one) is ignored, as RFC 8259
	// allows and as the dataset files' readers do.
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	// Keys first, so an unknown field deep in the body is named by its path
	// (encoding/json names the key alone); encoding/json also matches keys
	// ignoring case and keeps the last of repeated keys, so
	// {"input":"a","INPUT":"b"} would embed "b".
	var ke *jsontype.KeyError
	if json.Valid(body) {
		if err := jsontype.ExactKeys(body, reflect.TypeOf(dst)); errors.As(err, &ke) {
			msg, param := ke.Error(), keyParam(ke.Path, ke.EmptyKey)
			if ke.EmptyKey && ke.Unknown { // no field has an empty name
				msg = fmt.Sprintf("unknown field %s (an empty key)", param)
			}
			badRequestParam(c, param, "invalid JSON body: "+msg)
			return false
		}
	}
	dec, err := decodeStrict(body, dst)
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) && strings.HasPrefix(ute.Value, "number ") && isInteger(ute.Type) {
		// An integer written as 1000.0 or 1e3 (as some clients serialise
		// every number) is an integer: decoded again with such numbers
		// written as integers. Fractions still fail, and are named.
		if fixed, changed := integralNumbers(body); changed {
			body = fixed
			dec, err = decodeStrict(body, dst)
		}
	}
	if err != nil {
		switch {
		case isTooLarge(err):
			abortTooLarge(c, bodyLimitOf(err))
		case errors.Is(err, io.EOF):
			badRequest(c, "request body is empty: send a JSON object")
		default:
			msg, param := describeJSONError(err, body, reflect.TypeOf(dst))
			badRequestParam(c, param, "invalid JSON body: "+msg)
		}
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if isTooLarge(err) {
			abortTooLarge(c, bodyLimitOf(err))
		} else {
			badRequest(c, "invalid JSON body: unexpected data after the JSON object")
		}
		return false
	}
	return true
}

// decodeStrict decodes one JSON value of body into dst, refusing unknown
// fields; the decoder is returned to look past the value.
func decodeStrict(body []byte, dst any) (*json.Decoder, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec, dec.Decode(dst)
}

func isInteger(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// maxWrittenInteger bounds the integers integralNumbers rewrites: a
// client that writes every number as a float (1e3) cannot hold a larger
// one exactly, so a larger one is taken only in plain digits.
const maxWrittenInteger = 1 << 53

// integralNumbers rewrites the number literals of body that have a
// fraction or exponent but an integral value within ±2^53 ("1000.0",
// "1e3") as plain integers; changed is false when there is none. The
// decoder finds the literals (strings, escapes and all), so only their
// bytes are touched. Integrality is decided on the digits as written, not
// on a float64, which would round 1e-400 to 0 and 1.0000000000000000001
// to 1.
func integralNumbers(body []byte) (_ []byte, changed bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out []byte
	copied := 0 // body[:copied] is in out
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		n, ok := tok.(json.Number)
		if !ok || !strings.ContainsAny(string(n), ".eE") {
			continue
		}
		plain, integral := plainInteger(string(n))
		if !integral || plain == "" {
			continue
		}
		if v, err := strconv.ParseInt(plain, 10, 64); err != nil || v > maxWrittenInteger || v < -maxWrittenInteger {
			continue
		}
		end := int(dec.InputOffset()) // the literal ends the token just read
		out = append(out, body[copied:end-len(n)]...)
		out, copied, changed = append(out, plain...), end, true
	}
	if !changed {
		return body, false
	}
	return append(out, body[copied:]...), true
}

// plainInteger reports whether the JSON number literal n has an integral
// value, exactly as written, and returns that integer in plain digits
// ("1.5e3" → "1500", "-0.0" → "0"), or "" when it has more than 20 digits,
// more than any integer field holds (1e400). "1e-400" and "1.5" are not
// integers.
func plainInteger(n string) (plain string, integral bool) {
	neg := strings.HasPrefix(n, "-")
	mant, expPart, _ := strings.Cut(strings.ToLower(strings.TrimPrefix(n, "-")), "e")
	var exp int64
	if expPart != "" {
		// Out of range, the exponent is clamped to ±2^31, which decides as well.
		exp, _ = strconv.ParseInt(expPart, 10, 32)
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimRight(whole+frac, "0")
	point := int64(len(whole)) + exp // digits[:point] is the integer part
	trimmed := strings.TrimLeft(digits, "0")
	point -= int64(len(digits) - len(trimmed))
	digits = trimmed
	switch {
	case digits == "":
		return "0", true
	case int64(len(digits)) > point:
		return "", false // a nonzero digit after the point
	case point > 20:
		return "", true
	}
	plain = digits + strings.Repeat("0", int(point)-len(digits))
	if neg {
		plain = "-" + plain
	}
	return plain, true
}

// numberMisfit says why the number literal lit, an integer or out of
// range, does not fit a field of type t, which encoding/json reports only
// as "must be an integer, not number 1.5e18"; "" when that says it (a
// fraction for an integer).
func numberMisfit(lit string, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(lit, t.Bits()); errors.Is(err, strconv.ErrRange) {
			max := math.MaxFloat64
			if t.Kind() == reflect.Float32 {
				max = math.MaxFloat32
			}
			return fmt.Sprintf("number %s is out of range: a number here is at most %g in magnitude", lit, max)
		}
		return ""
	}
	if !isInteger(t) {
		return ""
	}
	plain, integral := plainInteger(lit)
	if !integral {
		return ""
	}
	lo, hi := "0", strconv.FormatUint(math.MaxUint64>>(64-t.Bits()), 10)
	fits := false
	if t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64 {
		lo, hi = strconv.FormatInt(math.MinInt64>>(64-t.Bits()), 10), strconv.FormatInt(math.MaxInt64>>(64-t.Bits()), 10)
		_, err := strconv.ParseInt(plain, 10, t.Bits())
		fits = plain != "" && err == nil
	} else {
		_, err := strconv.ParseUint(plain, 10, t.Bits())
		fits = plain != "" && err == nil
	}
	if !fits {
		return fmt.Sprintf("number %s is out of range: an integer here is from %s to %s", lit, lo, hi)
	}
	// Written with a fraction or exponent beyond what integralNumbers takes.
	return fmt.Sprintf("an integer beyond 2^53 (%d) must be written in plain digits: %s, not %s", int64(maxWrittenInteger), plain, lit)
}

// invalidUTF8At is the offset of the first byte of b that is not valid
// UTF-8, or -1.
func invalidUTF8At(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// describeJSONError phrases encoding/json errors for API users, in JSON's
// terms: field paths as the client wrote them (encoding/json puts the names
// of embedded Go structs into the path) and JSON type names, not Go's.
// param is the offending field's path when there is one (the error's
// "param").
func describeJSONError(err error, body []byte, dst reflect.Type) (msg, param string) {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		want := jsontype.Name(ute.Type)
		if ute.Field == "" {
			return fmt.Sprintf("the body must be %s, not %s", want, ute.Value), ""
		}
		// The value's own path, array indexes included ("queries[1]");
		// encoding/json's Field names struct fields only.
		path := jsontype.PathAt(body, ute.Offset)
		if path == "" {
			path = jsonPath(dst, ute.Field)
		}
		if lit, ok := strings.CutPrefix(ute.Value, "number "); ok {
			if why := numberMisfit(lit, ute.Type); why != "" {
				return fmt.Sprintf("field %q: %s", path, why), path
			}
		}
		return fmt.Sprintf("field %q must be %s, not %s", path, want, ute.Value), path
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %v", se.Offset, err), ""
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return strings.TrimPrefix(err.Error(), "json: "), nameParam(name)
	}
	return err.Error(), ""
}

// jsonPath drops from an encoding/json field path the segments that name an
// embedded struct of t rather than a JSON field.
func jsonPath(t reflect.Type, path string) string {
	var out []string
	for _, seg := range strings.Split(path, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			out, t = append(out, seg), nil
			continue
		}
		if f, ok := t.FieldByName(seg); ok && f.Anonymous && jsonFieldType(t, seg) == nil {
			t = f.Type
			continue
		}
		out = append(out, seg)
		t = jsonFieldType(t, seg)
	}
	return strings.Join(out, ".")
}

// jsonFieldType is the type of t's field whose JSON name is name (nil when
// there is none).
func jsonFieldType(t reflect.Type, name string) reflect.Type {
	for _, f := range reflect.VisibleFields(t) {
		if f.IsExported() && jsonName(f) == name {
			return f.Type
		}
	}
	return nil
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}
