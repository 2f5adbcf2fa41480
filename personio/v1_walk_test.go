package personio

import (
	"errors"
	"slices"
	"testing"
)

// FuzzDecodeV1PageWalk holds the single-pass page decoder to the
// straightforward one that splits every level with objectMembers and
// arrayElements: the same employees, attributes, total and outcome.
func FuzzDecodeV1PageWalk(f *testing.F) {
	f.Add(v1Page(1, fullEmployee))
	f.Add(v1Page(2, attr("id", "1"), attr("id", `"2"`)+","+attr("department", `[]`)))
	for _, s := range []string{
		`{"success":true,"metadata":{"total_elements":"3"},"data":[{"attributes":null}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":{}},{"attributes":[]}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[1]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":{}}`,
		`{"success":true,"metadata":{"total_elements":1},"data":null}`,
		`{"success":false,"metadata":{"total_elements":1},"data":[1]}`,
		`{"data":[{"attributes":{"id":{"value":1}}}],"da\u0074a":[],"success":true,"metadata":{"total_elements":1}}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":{"id":{"value":1},"id":{"value":2}},"attributes":5}]}`,
		`{"success":true,"metadata":{"total_elements":1},"data":[{"attributes":7}]}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, total, err := decodeV1Page(body)
		wantItems, wantTotal, wantErr := decodeV1PageBySplitting(body)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: error %v, splitting says %v", body, err, wantErr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("page error %v does not match ErrMalformed", err)
			}
			return
		}
		if total != wantTotal || len(items) != len(wantItems) {
			t.Fatalf("%q: %d items of %d, splitting says %d of %d", body, len(items), total, len(wantItems), wantTotal)
		}
		for n := range items {
			if items[n].ok != wantItems[n].ok || !slices.EqualFunc(items[n].attrs, wantItems[n].attrs, sameMember) {
				t.Fatalf("%q: employee %d differs from splitting", body, n)
			}
		}
	})
}

func sameMember(a, b member) bool {
	return string(a.key) == string(b.key) && string(a.value) == string(b.value)
}

// decodeV1PageBySplitting is the reference: split the envelope, then data,
// then each employee, each level on its own.
func decodeV1PageBySplitting(body []byte) ([]v1Employee, int, error) {
	top, err := v1Envelope(body, "employee list")
	if err != nil {
		return nil, 0, err
	}
	total, err := v1Total(top)
	if err != nil {
		return nil, 0, err
	}
	data, ok := find(top, "data")
	if !ok || string(data) == "null" {
		return nil, total, nil
	}
	elems, err := arrayElements(data)
	if err != nil {
		return nil, 0, malformed("employee list: data is not a list")
	}
	items := make([]v1Employee, 0, len(elems))
	for _, elem := range elems {
		emp, err := v1Item(elem)
		if err != nil {
			return nil, 0, err
		}
		items = append(items, emp)
	}
	return items, total, nil
}
