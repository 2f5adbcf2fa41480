package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/personio-scim/personio-scim/store"
	"github.com/personio-scim/personio-scim/store/internal/plan"
)

// Apply applies cs in one transaction. It first takes a transaction-level
// advisory lock: appliers are serialized, so the change-log sequence numbers
// they hand out commit in order and no reader's cursor can pass a number
// whose row commits later. Writes are rare (one sync leader, occasional SCIM
// writes), so the lock costs nothing that matters.
func (s *Store) Apply(ctx context.Context, cs store.ChangeSet) (store.ApplyResult, error) {
	var res store.ApplyResult
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, applyLockKey); err != nil {
			return fmt.Errorf("take apply lock: %w", err)
		}
		p, err := s.resolve(ctx, tx, cs)
		if err != nil {
			return err
		}
		// The plan holds copies of what it writes; letting go of the change
		// set lets a first sync's be freed while its rows are written.
		cs = store.ChangeSet{}
		if err := checkMembers(ctx, tx, p); err != nil {
			return err
		}
		if res, err = writePlan(ctx, tx, p); err != nil {
			return err
		}
		if res.LastSeq > 0 {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, fmt.Sprint(res.LastSeq)); err != nil {
				return fmt.Errorf("notify replicas: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return store.ApplyResult{}, err
	}
	return res, nil
}

// resolve reads and locks the rows cs names and resolves cs against them.
func (s *Store) resolve(ctx context.Context, tx pgx.Tx, cs store.ChangeSet) (plan.ChangePlan, error) {
	idIDs := make([]string, 0, len(cs.Identities))
	for _, c := range cs.Identities {
		if c.Op != store.OpCreate {
			idIDs = append(idIDs, c.Identity.ID)
		}
	}
	groupIDs := make([]string, 0, len(cs.Groups))
	for _, c := range cs.Groups {
		groupIDs = append(groupIDs, c.Group.ID)
	}
	// Creates are looked up too, to report ErrExists rather than a key error.
	for _, c := range cs.Identities {
		if c.Op == store.OpCreate {
			idIDs = append(idIDs, c.Identity.ID)
		}
	}
	curIDs, err := queryIdentities(ctx, tx, `WHERE id = ANY($1) FOR UPDATE`, idIDs)
	if err != nil {
		return plan.ChangePlan{}, err
	}
	curGroups, err := queryGroups(ctx, tx, `WHERE id = ANY($1) FOR UPDATE`, groupIDs)
	if err != nil {
		return plan.ChangePlan{}, err
	}
	idMap := make(map[string]*store.Identity, len(curIDs))
	for n := range curIDs {
		idMap[curIDs[n].ID] = &curIDs[n]
	}
	groupMap := make(map[string]*store.Group, len(curGroups))
	for n := range curGroups {
		groupMap[curGroups[n].ID] = &curGroups[n]
	}
	return plan.ResolveDeferred(cs, idMap, groupMap, s.clock())
}

// checkMembers makes sure no group names an identity that will not exist.
func checkMembers(ctx context.Context, tx pgx.Tx, p plan.ChangePlan) error {
	final := map[string]bool{}
	var deleted []string
	for _, pi := range p.Identities {
		final[pi.Identity.ID] = pi.Op != store.OpDelete
		if pi.Op == store.OpDelete {
			deleted = append(deleted, pi.Identity.ID)
		}
	}
	var unknown, plannedGroups []string
	for _, pg := range p.Groups {
		plannedGroups = append(plannedGroups, pg.Group.ID)
		for _, m := range pg.Group.Members {
			exists, planned := final[m]
			if planned && !exists {
				return fmt.Errorf("%w: group %s names deleted member %s", store.ErrInvalid, pg.Group.ID, m)
			}
			if !planned {
				unknown = append(unknown, m)
			}
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		unknown = slices.Compact(unknown)
		var found int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM identities WHERE id = ANY($1)`, unknown).Scan(&found); err != nil {
			return fmt.Errorf("check group members: %w", err)
		}
		if found != len(unknown) {
			return fmt.Errorf("%w: a group names %d unknown members", store.ErrInvalid, len(unknown)-found)
		}
	}
	if len(deleted) > 0 {
		var gid string
		err := tx.QueryRow(ctx, `SELECT id FROM groups WHERE members && $1 AND NOT id = ANY($2) LIMIT 1`, deleted, membersOrEmpty(plannedGroups)).Scan(&gid)
		if err == nil {
			return fmt.Errorf("%w: a deleted identity is still a member of group %s", store.ErrInvalid, gid)
		}
		if err != pgx.ErrNoRows {
			return fmt.Errorf("check memberships of deleted identities: %w", err)
		}
	}
	return nil
}

func writePlan(ctx context.Context, tx pgx.Tx, p plan.ChangePlan) (store.ApplyResult, error) {
	var res store.ApplyResult
	if err := writeIdentities(ctx, tx, p.Identities); err != nil {
		return res, err
	}
	if err := writeGroups(ctx, tx, p.Groups); err != nil {
		return res, err
	}
	first, last, err := appendChanges(ctx, tx, &p)
	if err != nil {
		return res, err
	}
	res.FirstSeq, res.LastSeq = first, last
	// Sized up front: the result of a first sync holds every identity.
	kept := 0
	for _, pi := range p.Identities {
		if pi.Op != store.OpDelete {
			kept++
		}
	}
	if kept > 0 {
		res.Identities = make([]store.Identity, 0, kept)
	}
	for _, pi := range p.Identities {
		if pi.Op == store.OpDelete {
			res.DeletedIdentities = append(res.DeletedIdentities, pi.Identity.ID)
		} else {
			res.Identities = append(res.Identities, pi.Identity)
		}
	}
	for _, pg := range p.Groups {
		if pg.Op == store.OpDelete {
			res.DeletedGroups = append(res.DeletedGroups, pg.Group.ID)
		} else {
			res.Groups = append(res.Groups, pg.Group)
		}
	}
	return res, nil
}

var identityColumns = []string{"id", "personio_id", "user_name_key", "attributes", "lifecycle", "overrides", "source", "source_hash", "version", "created_at", "modified_at"}

func identityRow(attrNames []string, i *store.Identity) []any {
	return []any{i.ID, i.PersonioID, strings.ToLower(i.UserName), encodeAttributes(attrNames, &i.Attributes), encodeLifecycle(&i.Lifecycle),
		flatMap(i.Overrides), flatMap(i.Source), i.SourceHash, i.Version, i.Created, i.Modified}
}

// identityRowEncoder is identityRow for COPY, reusing one row and its
// buffers for every identity: COPY encodes a row into its own buffer
// before it asks for the next (pgx's copyFrom.buildCopyBuf), so nothing
// handed out for one row is read after the next is made. A batch keeps
// its arguments until sent, so updates use identityRow. (Pointers to the
// fields would not save boxing them: pgx dereferences through reflect,
// which boxes again.)
type identityRowEncoder struct {
	names                  []string
	attrs, life, over, src []byte
	values                 [11]any
}

func (e *identityRowEncoder) row(i *store.Identity) []any {
	e.attrs = appendAttributes(e.attrs[:0], e.names, &i.Attributes)
	e.life = appendLifecycle(e.life[:0], &i.Lifecycle)
	e.over, e.src = appendFlatMapOrNil(e.over, i.Overrides), appendFlatMapOrNil(e.src, i.Source)
	v := &e.values
	*v = [11]any{i.ID, i.PersonioID, strings.ToLower(i.UserName), e.attrs, e.life, e.over, e.src, i.SourceHash, i.Version, i.Created, i.Modified}
	return v[:]
}

// appendFlatMapOrNil is flatMap into buf's storage; nil, a NULL, for a
// nil map (an empty non-nil slice would be an empty, invalid, JSON text).
func appendFlatMapOrNil(buf []byte, m map[string]string) []byte {
	if m == nil {
		return nil
	}
	return appendFlatMap(buf[:0], m)
}

// writeIdentities copies creates in bulk (a first sync creates everyone),
// encoding each row only as COPY asks for it, and sends updates and deletes
// as one batch.
func writeIdentities(ctx context.Context, tx pgx.Tx, planned []plan.IdentityWrite) error {
	attrNames := store.AttributeNames()
	var creates []*store.Identity
	batch := &pgx.Batch{}
	var deletes []string
	for n := range planned {
		pi := &planned[n]
		switch pi.Op {
		case store.OpDelete:
			deletes = append(deletes, pi.Identity.ID)
		case store.OpCreate:
			creates = append(creates, &pi.Identity)
		case store.OpUpdate:
			row := identityRow(attrNames, &pi.Identity)
			batch.Queue(`UPDATE identities SET personio_id=$2, user_name_key=$3, attributes=$4, lifecycle=$5,
				overrides=$6, source=$7, source_hash=$8, version=$9, created_at=$10, modified_at=$11 WHERE id=$1`, row...)
		}
	}
	if len(deletes) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM identities WHERE id = ANY($1)`, deletes); err != nil {
			return fmt.Errorf("delete %d identities: %w", len(deletes), err)
		}
	}
	if batch.Len() > 0 {
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("update %d identities: %w", batch.Len(), err)
		}
	}
	if len(creates) > 0 {
		enc := identityRowEncoder{names: attrNames}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"identities"}, identityColumns, copyRows(len(creates), func(n int) []any {
			return enc.row(creates[n])
		})); err != nil {
			return fmt.Errorf("create %d identities: %w", len(creates), err)
		}
	}
	return nil
}

func writeGroups(ctx context.Context, tx pgx.Tx, planned []plan.GroupWrite) error {
	batch := &pgx.Batch{}
	for _, pg := range planned {
		g := pg.Group
		switch pg.Op {
		case store.OpDelete:
			batch.Queue(`DELETE FROM groups WHERE id = $1`, g.ID)
		case store.OpCreate:
			batch.Queue(`INSERT INTO groups (id, key, kind, display_name, display_name_key, members, version, created_at, modified_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
				g.ID, g.Key, g.Kind, g.DisplayName, strings.ToLower(g.DisplayName), membersOrEmpty(g.Members), g.Version, g.Created, g.Modified)
		case store.OpUpdate:
			batch.Queue(`UPDATE groups SET key=$2, kind=$3, display_name=$4, display_name_key=$5, members=$6, version=$7, modified_at=$8 WHERE id=$1`,
				g.ID, g.Key, g.Kind, g.DisplayName, strings.ToLower(g.DisplayName), membersOrEmpty(g.Members), g.Version, g.Modified)
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("write %d groups: %w", batch.Len(), err)
	}
	return nil
}

func membersOrEmpty(m []string) []string {
	if m == nil {
		return []string{}
	}
	return m
}

var changeColumns = []string{"seq", "at", "actor", "cause", "reason", "kind", "resource_id", "op", "before", "after", "members_added", "members_removed"}

// appendChanges numbers the rows after the current end of the log; the apply
// lock guarantees nobody else numbers concurrently. The identity rows'
// before and after are encoded straight from the plan's identities.
func appendChanges(ctx context.Context, tx pgx.Tx, p *plan.ChangePlan) (first, last int64, err error) {
	changes := p.Changes
	if len(changes) == 0 {
		return 0, 0, nil
	}
	var end int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM change_log`).Scan(&end); err != nil {
		return 0, 0, fmt.Errorf("read change-log end: %w", err)
	}
	// One row and two buffers serve every row, as in identityRowEncoder.
	var values [12]any
	var beforeBuf, afterBuf, before, after []byte
	rows := copyRows(len(changes), func(n int) []any {
		c := &changes[n]
		if n < len(p.Identities) {
			before, after = appendIdentityDiffJSON(beforeBuf, afterBuf, p, n)
			beforeBuf, afterBuf = keepStorage(beforeBuf, before), keepStorage(afterBuf, after)
		} else {
			before, after = flatMap(c.Before), flatMap(c.After)
		}
		values = [12]any{end + int64(n) + 1, c.Time, c.Actor, c.Cause, c.Reason, string(c.Kind), c.ResourceID, string(c.Op),
			before, after, c.MembersAdded, c.MembersRemoved}
		return values[:]
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"change_log"}, changeColumns, rows); err != nil {
		return 0, 0, fmt.Errorf("append %d change-log rows: %w", len(changes), err)
	}
	return end + 1, end + int64(len(changes)), nil
}

// keepStorage is the buffer to reuse next: out when it holds one, so that
// a nil side (a create has no before) does not drop the storage.
func keepStorage(buf, out []byte) []byte {
	if out != nil {
		return out
	}
	return buf
}

// identityDiffJSON encodes the before and after of the plan's identity row
// n, nil for a side the row does not have. A create has no before and a
// delete no after, so neither is built for them: a first sync's rows are
// all creates.
func identityDiffJSON(p *plan.ChangePlan, n int) (before, after []byte) {
	return appendIdentityDiffJSON(make([]byte, 0, 256), make([]byte, 0, 512), p, n)
}

// appendIdentityDiffJSON is identityDiffJSON into the storage of before
// and after.
func appendIdentityDiffJSON(before, after []byte, p *plan.ChangePlan, n int) ([]byte, []byte) {
	op := p.Identities[n].Op
	wantBefore, wantAfter := op != store.OpCreate, op != store.OpDelete
	before, after = before[:0], after[:0]
	if wantBefore {
		before = append(before, '{')
	} else {
		before = nil
	}
	if wantAfter {
		after = append(after, '{')
	} else {
		after = nil
	}
	member := func(buf []byte, name, value string) []byte {
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = append(appendJSONString(buf, name), ':')
		return appendJSONString(buf, value)
	}
	hasBefore, hasAfter := p.EachIdentityDiff(n, func(name, b, a string) {
		if wantBefore {
			before = member(before, name, b)
		}
		if wantAfter {
			after = member(after, name, a)
		}
	})
	if !hasBefore {
		before = nil
	} else {
		before = append(before, '}')
	}
	if !hasAfter {
		after = nil
	} else {
		after = append(after, '}')
	}
	return before, after
}

// copyRows feeds COPY n rows made on demand, so that a first sync of
// 100,000 people never holds every encoded row at once.
func copyRows(n int, row func(int) []any) pgx.CopyFromSource {
	next := 0
	return pgx.CopyFromFunc(func() ([]any, error) {
		if next == n {
			return nil, nil
		}
		next++
		return row(next - 1), nil
	})
}
