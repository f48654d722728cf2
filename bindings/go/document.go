package quota

// Documents: the objects policies read (the trigger, the user, the
// request info), from Go values or JSON text.
//
// A value is encoded into a compact byte form (tags and lengths, see
// shim.h) in a pooled Go buffer; the C side builds the quota_doc from it
// with quota_doc_new_*, _list_append and _map_set, makes the call, and
// drops the documents, all in one cgo call. No JSON parser is needed in
// the library, and a document costs one cgo call, not one per value.

/*
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// MaxDocDepth is how deeply lists and maps may nest in a document.
const MaxDocDepth = C.QUOTA_DOC_MAX_DEPTH

const (
	docAbsent = byte(C.GQ_DOC_ABSENT)
	docNull   = byte(C.GQ_DOC_NULL)
	docFalse  = byte(C.GQ_DOC_FALSE)
	docTrue   = byte(C.GQ_DOC_TRUE)
	docInt    = byte(C.GQ_DOC_INT)
	docDouble = byte(C.GQ_DOC_DOUBLE)
	docString = byte(C.GQ_DOC_STRING)
	docList   = byte(C.GQ_DOC_LIST)
	docMap    = byte(C.GQ_DOC_MAP)
)

// docEncoder encodes the documents of one call.
type docEncoder struct {
	buf  []byte
	keys []string // map keys being sorted, a stack shared by the nesting maps
}

var encoders = sync.Pool{New: func() any { return new(docEncoder) }}

// encodeDocs encodes the documents of one call (a nil one is absent) for
// the library; field names each in an error. Release the encoder after
// the call.
func encodeDocs(op string, fields []string, docs ...any) (*docEncoder, error) {
	enc := encoders.Get().(*docEncoder)
	enc.buf = enc.buf[:0]
	for i, d := range docs {
		if d == nil {
			enc.buf = append(enc.buf, docAbsent)
			continue
		}
		if err := enc.value(d, 0); err != nil {
			enc.release()
			return nil, err.toError(op, fields[i])
		}
	}
	return enc, nil
}

// bytes is the encoding as C sees it (a Go buffer without Go pointers,
// which cgo lets C read during the call).
func (enc *docEncoder) bytes() (*C.uchar, C.size_t) {
	return (*C.uchar)(unsafe.Pointer(&enc.buf[0])), C.size_t(len(enc.buf))
}

func (enc *docEncoder) release() {
	if cap(enc.buf) <= 1<<16 {
		encoders.Put(enc)
	}
}

// docError is a value that cannot become a document; path is built on
// the way out (".spec", "[3]"), only when there is an error.
type docError struct {
	code Code
	path []string // innermost first
	why  string
}

func (e *docError) at(step string) *docError {
	e.path = append(e.path, step)
	return e
}

func (e *docError) toError(op, field string) error {
	var b strings.Builder
	b.WriteString(field)
	for i := len(e.path) - 1; i >= 0; i-- {
		b.WriteString(e.path[i])
	}
	return newError(e.code, op, b.String()+": "+e.why)
}

func invalidDoc(format string, args ...any) *docError {
	return &docError{code: Code(C.QUOTA_ERR_INVALID), why: fmt.Sprintf(format, args...)}
}

func parseDoc(format string, args ...any) *docError {
	return &docError{code: Code(C.QUOTA_ERR_PARSE), why: fmt.Sprintf(format, args...)}
}

// keyStep is how a path names a map key: .name for identifiers, else
// ["quoted"].
func keyStep(k string) string {
	ident := k != ""
	for i, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			ident = false
			break
		}
	}
	if ident {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

func indexStep(i int) string { return "[" + strconv.Itoa(i) + "]" }

func (enc *docEncoder) u32(n int) {
	enc.buf = binary.LittleEndian.AppendUint32(enc.buf, uint32(n))
}

func (enc *docEncoder) int(v int64) {
	enc.buf = append(enc.buf, docInt)
	enc.buf = binary.LittleEndian.AppendUint64(enc.buf, uint64(v))
}

func (enc *docEncoder) double(v float64) {
	enc.buf = append(enc.buf, docDouble)
	enc.buf = binary.LittleEndian.AppendUint64(enc.buf, math.Float64bits(v))
}

// text appends a length and the bytes of a string or a key.
func (enc *docEncoder) text(s string) *docError {
	if !utf8.ValidString(s) {
		at := 0
		for {
			r, n := utf8.DecodeRuneInString(s[at:])
			if r == utf8.RuneError && n == 1 {
				return invalidDoc("not valid UTF-8 at byte %d", at)
			}
			at += n
		}
	}
	if len(s) > math.MaxUint32 {
		return invalidDoc("a string of %d bytes is too long", len(s))
	}
	enc.u32(len(s))
	enc.buf = append(enc.buf, s...)
	return nil
}

func (enc *docEncoder) string(s string) *docError {
	enc.buf = append(enc.buf, docString)
	return enc.text(s)
}

// open starts a list or map at nesting level (the containers around it).
func (enc *docEncoder) open(tag byte, level, n int) *docError {
	if level >= MaxDocDepth {
		return invalidDoc("lists and maps nest more than %d deep", MaxDocDepth)
	}
	enc.buf = append(enc.buf, tag)
	enc.u32(n)
	return nil
}

// value encodes v, a value at nesting level.
//
// nil, bool, string, the integer and float types, json.Number, maps with
// string keys and slices of any of these have their obvious documents;
// []byte and json.RawMessage are JSON text (empty: null). Anything else (a struct, a
// pointer, a named type) goes through encoding/json and is read back as
// JSON text, so its json tags and MarshalJSON methods apply.
func (enc *docEncoder) value(v any, level int) *docError {
	switch x := v.(type) {
	case nil:
		enc.buf = append(enc.buf, docNull)
	case bool:
		if x {
			enc.buf = append(enc.buf, docTrue)
		} else {
			enc.buf = append(enc.buf, docFalse)
		}
	case string:
		return enc.string(x)
	case int:
		enc.int(int64(x))
	case int8:
		enc.int(int64(x))
	case int16:
		enc.int(int64(x))
	case int32:
		enc.int(int64(x))
	case int64:
		enc.int(x)
	case uint:
		enc.uint(uint64(x))
	case uint8:
		enc.int(int64(x))
	case uint16:
		enc.int(int64(x))
	case uint32:
		enc.int(int64(x))
	case uint64:
		enc.uint(x)
	case float32:
		enc.double(float64(x))
	case float64:
		enc.double(x)
	case json.Number:
		return enc.number(string(x), invalidDoc)
	case map[string]any:
		return encodeMap(enc, x, level)
	case []any:
		return encodeList(enc, x, level)
	case map[string]string:
		return encodeMap(enc, x, level)
	case map[string][]string: // e.g. a Kubernetes UserInfo's extra
		return encodeMap(enc, x, level)
	case []string:
		return encodeList(enc, x, level)
	case []map[string]any:
		return encodeList(enc, x, level)
	case []byte:
		return enc.json(x, level)
	case json.RawMessage:
		return enc.json(x, level)
	default:
		text, err := json.Marshal(v)
		if err != nil {
			return invalidDoc("a %T cannot be a document: %v", v, err)
		}
		return enc.json(text, level)
	}
	return nil
}

// uint encodes an unsigned integer: an int when it fits int64, else a
// double, as JSON numbers become documents.
func (enc *docEncoder) uint(v uint64) {
	if v > math.MaxInt64 {
		enc.double(float64(v))
	} else {
		enc.int(int64(v))
	}
}

func encodeMap[V any](enc *docEncoder, m map[string]V, level int) *docError {
	if err := enc.open(docMap, level, len(m)); err != nil {
		return err
	}
	// Keys in sorted order, so that a map always makes the same document.
	base := len(enc.keys)
	for k := range m {
		enc.keys = append(enc.keys, k)
	}
	keys := enc.keys[base:]
	sortStrings(keys)
	defer func() { // let go of the keys: the encoder is pooled
		for i := range keys {
			keys[i] = ""
		}
		enc.keys = enc.keys[:base]
	}()
	for _, k := range keys {
		if err := enc.text(k); err != nil {
			return err.at(keyStep(k))
		}
		if err := enc.value(m[k], level+1); err != nil {
			return err.at(keyStep(k))
		}
	}
	return nil
}

func encodeList[V any](enc *docEncoder, l []V, level int) *docError {
	if err := enc.open(docList, level, len(l)); err != nil {
		return err
	}
	for i, v := range l {
		if err := enc.value(v, level+1); err != nil {
			return err.at(indexStep(i))
		}
	}
	return nil
}

// sortStrings sorts the few keys of a map without sort.Strings' allocation.
func sortStrings(s []string) {
	if len(s) > 12 {
		sort.Strings(s)
		return
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// number encodes a JSON number as quota_doc_parse_json does: an int when
// it has no fraction or exponent and fits int64, else a double. fail
// makes the error: invalid for a Go value, a parse error for JSON text.
func (enc *docEncoder) number(s string, fail func(string, ...any) *docError) *docError {
	if !isJSONNumber(s) {
		return fail("%q is not a JSON number", s)
	}
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			enc.int(i)
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && math.IsInf(f, 0) {
		return fail("%s is out of the range of a double", s)
	}
	enc.double(f)
	return nil
}

// isJSONNumber: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(s string) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// json encodes JSON text, read with encoding/json (numbers as
// json.Number), keeping the order of the keys; a repeated key is set
// again, so the last value wins in the place of the first, as in
// quota_doc_parse_json. Invalid UTF-8 in strings becomes U+FFFD, as
// encoding/json reads it. No text at all is null, as encoding/json
// writes a nil json.RawMessage (an omitted field of a request).
func (enc *docEncoder) json(text []byte, level int) *docError {
	if len(text) == 0 { // an absent value, as a nil json.RawMessage
		enc.buf = append(enc.buf, docNull)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if err := enc.jsonValue(dec, level); err != nil {
		return err
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		for end < int64(len(text)) && strings.IndexByte(" \t\r\n", text[end]) >= 0 {
			end++
		}
		return parseDoc("JSON text at byte %d: more after the value", end)
	}
	return nil
}

// jsonError is a parse error of the decoder, which reports the end of
// the text as io.EOF.
func jsonError(dec *json.Decoder, err error) *docError {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return parseDoc("JSON text at byte %d: %v", dec.InputOffset(), err)
}

func (enc *docEncoder) jsonValue(dec *json.Decoder, level int) *docError {
	tok, err := dec.Token()
	if err != nil {
		return jsonError(dec, err)
	}
	switch x := tok.(type) {
	case json.Delim:
		return enc.jsonContainer(dec, x, level)
	case string:
		return enc.string(x)
	case json.Number:
		return enc.number(string(x), parseDoc)
	default: // bool, nil
		return enc.value(x, level)
	}
}

// jsonContainer encodes a list or map whose opening delim was read; the
// count is filled in at its end.
func (enc *docEncoder) jsonContainer(dec *json.Decoder, delim json.Delim, level int) *docError {
	tag := docList
	if delim == '{' {
		tag = docMap
	}
	if level >= MaxDocDepth {
		return parseDoc("JSON text at byte %d: lists and maps nest more than %d deep",
			dec.InputOffset(), MaxDocDepth)
	}
	enc.buf = append(enc.buf, tag)
	count := len(enc.buf)
	enc.u32(0)
	n := 0
	for ; dec.More(); n++ {
		key := ""
		if tag == docMap {
			tok, err := dec.Token()
			if err != nil {
				return jsonError(dec, err)
			}
			key = tok.(string) // the decoder checks that object keys are strings
			if err := enc.text(key); err != nil {
				return err.at(keyStep(key))
			}
		}
		if err := enc.jsonValue(dec, level+1); err != nil {
			if tag == docMap {
				return err.at(keyStep(key))
			}
			return err.at(indexStep(n))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delim
		return jsonError(dec, err)
	}
	binary.LittleEndian.PutUint32(enc.buf[count:], uint32(n))
	return nil
}
