package quota

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// Go values and JSON text become documents as quota_doc_parse_json would
// make them; the library writes them back as JSON to show it.
func TestDocumentsFromGoValues(t *testing.T) {
	type tier string
	type spec struct {
		Tier     tier   `json:"tier"`
		Replicas *int   `json:"replicas,omitempty"`
		Note     string `json:"-"`
	}
	three := 3
	for _, c := range []struct {
		in   any
		want string
	}{
		{true, `true`},
		{false, `false`},
		{"", `""`},
		{int8(-8), `-8`},
		{int16(16), `16`},
		{int32(-32), `-32`},
		{int64(math.MinInt64), `-9223372036854775808`},
		{uint8(255), `255`},
		{uint16(65535), `65535`},
		{uint32(math.MaxUint32), `4294967295`},
		{uint(7), `7`},
		{uint64(math.MaxInt64), `9223372036854775807`},
		// Integers past int64 become doubles, as JSON numbers do.
		{uint64(math.MaxUint64), `1.8446744073709552e+19`},
		{1.5, `1.5`},
		{2.0, `2.0`}, // a double stays a double
		{float32(0.5), `0.5`},
		{json.Number("42"), `42`},
		{json.Number("-9223372036854775808"), `-9223372036854775808`},
		{json.Number("9223372036854775808"), `9.223372036854776e+18`},
		{json.Number("12345678901234567890123"), `1.2345678901234568e+22`},
		{json.Number("1.0"), `1.0`},
		{json.Number("1e3"), `1000.0`},
		{json.Number("-0.25E-2"), `-0.0025`},
		// Unicode, and NUL bytes, which documents may hold.
		{"Grüße, 世界 😀", `"Grüße, 世界 😀"`},
		{"a\x00b", `"a\u0000b"`},
		// Maps come out sorted by key; nested values of any supported type.
		{map[string]any{"z": nil, "a": []any{1, "two", 3.5, false, nil}, "m": map[string]any{}},
			`{"a":[1,"two",3.5,false,null],"m":{},"z":null}`},
		{map[string]any{"ключ": "значение", "キー": []any{}}, `{"ключ":"значение","キー":[]}`},
		{map[string][]string{"iam.miloapis.com/parent-name": {"acme"}, "groups": nil},
			`{"groups":[],"iam.miloapis.com/parent-name":["acme"]}`},
		{map[string]string{"b": "2", "a": "1"}, `{"a":"1","b":"2"}`},
		{[]string{"x", "y"}, `["x","y"]`},
		{[]map[string]any{{"name": "web"}, {"name": "db"}}, `[{"name":"web"},{"name":"db"}]`},
		{[]any{}, `[]`},
		// Other types go through encoding/json: tags, named types, pointers.
		{spec{Tier: "pro", Replicas: &three, Note: "x"}, `{"tier":"pro","replicas":3}`},
		{&spec{Tier: "free"}, `{"tier":"free"}`},
		{tier("pro"), `"pro"`},
		{map[string]any{"s": spec{Tier: "pro"}, "n": []int{1, 2}}, `{"n":[1,2],"s":{"tier":"pro"}}`},
		{map[string]any{"raw": json.RawMessage(`{"b":1,"a":[true]}`)}, `{"raw":{"b":1,"a":[true]}}`},
		// No JSON text is null, as encoding/json writes a nil RawMessage.
		{map[string]any{"raw": json.RawMessage(nil), "bytes": []byte{}}, `{"bytes":null,"raw":null}`},
	} {
		got, err := docJSON(c.in)
		if err != nil {
			t.Errorf("%#v: %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%#v: got %s, want %s", c.in, got, c.want)
		}
	}
}

func TestDocumentsFromJSONText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// Keys keep their order; a repeated key's last value wins in its
		// first place, as in quota_doc_parse_json.
		{`{"b": 1, "a": 2, "b": 3}`, `{"b":3,"a":2}`},
		{` [1, 2.50, 1e3, -0, 9223372036854775807, 9223372036854775808] `,
			`[1,2.5,1000.0,0,9223372036854775807,9.223372036854776e+18]`},
		{`{"metadata": {"name": "r1", "labels": {"tier": "pro"}}, "spec": {"sizes": [[], {}]}}`,
			`{"metadata":{"name":"r1","labels":{"tier":"pro"}},"spec":{"sizes":[[],{}]}}`},
		{`"\u00fc\ud83d\ude00"`, `"ü😀"`},
		{`null`, `null`},
	} {
		for _, in := range []any{[]byte(c.in), json.RawMessage(c.in)} {
			got, err := docJSON(in)
			if err != nil {
				t.Errorf("%s: %v", c.in, err)
			} else if got != c.want {
				t.Errorf("%s: got %s, want %s", c.in, got, c.want)
			}
		}
	}
}

// nest makes a value of n lists, one in the other.
func nest(n int) any {
	var v any = "leaf"
	for i := 0; i < n; i++ {
		v = []any{v}
	}
	return v
}

func TestDocumentErrorsNameThePlace(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for _, c := range []struct {
		in     any
		code   error
		detail string
	}{
		{map[string]any{"metadata": map[string]any{"labels": map[string]any{"a b": "ok\xffno"}}},
			ErrInvalid, `value.metadata.labels["a b"]: not valid UTF-8 at byte 2`},
		{map[string]any{"list": []any{1, map[string]string{"\xfe": ""}}},
			ErrInvalid, `value.list[1]["\xfe"]: not valid UTF-8 at byte 0`},
		{json.Number("1e999"), ErrInvalid, `value: 1e999 is out of the range of a double`},
		{json.Number("0x10"), ErrInvalid, `value: "0x10" is not a JSON number`},
		{json.Number("01"), ErrInvalid, `value: "01" is not a JSON number`},
		{map[string]any{"c": make(chan int)}, ErrInvalid, `value.c: a chan int cannot be a document: json: unsupported type: chan int`},
		{nest(MaxDocDepth + 1), ErrInvalid, `: lists and maps nest more than 64 deep`},
		{cyclic, ErrInvalid, `lists and maps nest more than 64 deep`},
		{[]byte(`{"a": }`), ErrParse, `value.a: JSON text at byte 6: invalid character '}' looking for beginning of value`},
		{[]byte(`{"a": 1} {}`), ErrParse, `value: JSON text at byte 9: more after the value`},
		{[]byte(`{"a": [1, 2`), ErrParse, `value.a: JSON text at byte 11: unexpected EOF`},
		{[]byte(` `), ErrParse, `value: JSON text at byte 0: unexpected EOF`},
		{[]byte(`[1e999]`), ErrParse, `value[0]: 1e999 is out of the range of a double`},
		{[]byte(strings.Repeat("[", MaxDocDepth+1) + strings.Repeat("]", MaxDocDepth+1)), ErrParse,
			`lists and maps nest more than 64 deep`},
		// The library's own refusal comes through with its detail.
		{math.NaN(), ErrInvalid, `NaN`},
	} {
		_, err := docJSON(c.in)
		qe := wantErr(t, err, c.code)
		if !strings.Contains(qe.Detail, c.detail) {
			t.Errorf("%#v: detail %q does not contain %q", c.in, qe.Detail, c.detail)
		}
	}
	// As deep as allowed works.
	if _, err := docJSON(nest(MaxDocDepth)); err != nil {
		t.Error(err)
	}
	text := strings.Repeat("[", MaxDocDepth) + strings.Repeat("]", MaxDocDepth)
	if got, err := docJSON([]byte(text)); err != nil || got != text {
		t.Errorf("%d deep: %s %v", MaxDocDepth, got, err)
	}
}
