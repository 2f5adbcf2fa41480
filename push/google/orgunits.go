package google

import (
	"context"
	"net/http"
	"strings"

	admin "google.golang.org/api/admin/directory/v1"

	"github.com/personio-scim/personio-scim/push"
)

// ensureOrgUnit makes sure the OU path exists before a user is put in it,
// creating it and its parents when create_org_units is on. Without it the
// path is sent as is and Google refuses an unknown OU (400
// INVALID_OU_ID), a data error. ok is false when the item failed.
func (t *Target) ensureOrgUnit(ctx context.Context, it push.Item, path string, dry bool) (push.Result, error, bool) {
	if !t.cfg.CreateOrgUnits || path == "/" || t.knownOU(path) {
		return push.Result{}, nil, true
	}
	// One creation at a time: users pushed side by side often share a new
	// OU, and it should be created once.
	t.ouMu.Lock()
	defer t.ouMu.Unlock()
	parts := strings.Split(strings.Trim(path, "/"), "/")
	parent := "/"
	for i, name := range parts {
		cur := "/" + strings.Join(parts[:i+1], "/")
		if !t.knownOU(cur) {
			if res, err, ok := t.ensureOneOU(ctx, it, parent, name, cur, dry); !ok {
				return res, err, false
			}
		}
		parent = cur
	}
	return push.Result{}, nil, true
}

func (t *Target) ensureOneOU(ctx context.Context, it push.Item, parent, name, path string, dry bool) (push.Result, error, bool) {
	exists, err := t.orgUnitExists(ctx, path)
	if err != nil {
		res, berr := t.fail("orgunits.get", it, err)
		return res, berr, false
	}
	if !exists {
		_, err = t.svc.Orgunits.Insert(t.cfg.Customer, &admin.OrgUnit{Name: name, ParentOrgUnitPath: parent}).Context(ctx).Do()
		if err != nil {
			// Another writer may have created it meanwhile; Google's answer
			// to a duplicate OU is not documented, so look again.
			if again, gerr := t.orgUnitExists(ctx, path); gerr != nil || !again {
				res, berr := t.fail("orgunits.insert", it, err)
				return res, berr, false
			}
		}
	}
	if !dry {
		t.mu.Lock()
		t.ous[strings.ToLower(path)] = true
		t.mu.Unlock()
	}
	return push.Result{}, nil, true
}

func (t *Target) orgUnitExists(ctx context.Context, path string) (bool, error) {
	_, err := t.svc.Orgunits.Get(t.cfg.Customer, strings.TrimPrefix(path, "/")).Context(ctx).Do()
	if isStatus(err, http.StatusNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (t *Target) knownOU(path string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ous[strings.ToLower(path)]
}
