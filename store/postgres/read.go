package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/personio-scim/personio-scim/store"
)

// querier is what pool and transaction have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const identitySelect = `SELECT id, personio_id, attributes, lifecycle, overrides, source, source_hash, version, created_at, modified_at FROM identities `

func queryIdentities(ctx context.Context, q querier, where string, args ...any) ([]store.Identity, error) {
	return queryIdentitiesSized(ctx, q, 0, false, where, args...)
}

// queryIdentitiesSized preallocates for the expected number of rows: at
// 100,000 identities, growing the slice row by row copied gigabytes. With
// kept set the rows are for a directory to keep, and each is interned (see
// store.Intern) as soon as it is decoded: the strings and maps the decoder
// made are garbage at once instead of all of them living until the last row
// is read, which set a replica's peak memory.
func queryIdentitiesSized(ctx context.Context, q querier, expect int, kept bool, where string, args ...any) ([]store.Identity, error) {
	rows, err := q.Query(ctx, identitySelect+where, args...)
	if err != nil {
		return nil, fmt.Errorf("query identities: %w", err)
	}
	defer rows.Close()
	out := make([]store.Identity, 0, expect)
	var attrs, life, overrides, source []byte
	var scratch flatScratch
	for rows.Next() {
		var i store.Identity
		if err := rows.Scan(&i.ID, &i.PersonioID, &attrs, &life, &overrides, &source, &i.SourceHash, &i.Version, &i.Created, &i.Modified); err != nil {
			return nil, fmt.Errorf("scan identity: %w", err)
		}
		if err := decodeIdentity(&i, attrs, life, overrides, source, &scratch); err != nil {
			return nil, err
		}
		i.Created, i.Modified = i.Created.UTC(), i.Modified.UTC()
		if kept {
			store.Intern(&i)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read identities: %w", err)
	}
	return out, nil
}

func decodeIdentity(i *store.Identity, attrs, life, overrides, source []byte, scratch *flatScratch) error {
	if err := decodeAttributes(attrs, &i.Attributes); err != nil {
		return fmt.Errorf("decode attributes of %s: %w", i.ID, err)
	}
	if err := decodeLifecycle(life, &i.Lifecycle); err != nil {
		return fmt.Errorf("decode lifecycle of %s: %w", i.ID, err)
	}
	var err error
	if i.Overrides, err = scratch.decode(overrides); err != nil {
		return fmt.Errorf("decode overrides of %s: %w", i.ID, err)
	}
	if i.Source, err = scratch.decode(source); err != nil {
		return fmt.Errorf("decode source of %s: %w", i.ID, err)
	}
	return nil
}

// flatScratch decodes flat JSON objects into maps of exactly their size: a
// map made for more entries than it gets keeps the room (a source record of
// 14 fields in a map made for 16 took 1,240 bytes instead of 660).
type flatScratch struct {
	keys, values []string
}

func (s *flatScratch) decode(data []byte) (map[string]string, error) {
	if data == nil {
		return nil, nil
	}
	s.keys, s.values = s.keys[:0], s.values[:0]
	if err := eachMember(data, func(k, v string) { s.keys, s.values = append(s.keys, k), append(s.values, v) }); err != nil {
		return nil, err
	}
	m := make(map[string]string, len(s.keys))
	for n, k := range s.keys {
		m[k] = s.values[n]
	}
	clear(s.keys)
	clear(s.values)
	return m, nil
}

const groupSelect = `SELECT id, key, kind, display_name, members, version, created_at, modified_at FROM groups `

func queryGroups(ctx context.Context, q querier, where string, args ...any) ([]store.Group, error) {
	rows, err := q.Query(ctx, groupSelect+where, args...)
	if err != nil {
		return nil, fmt.Errorf("query groups: %w", err)
	}
	defer rows.Close()
	var out []store.Group
	for rows.Next() {
		var g store.Group
		if err := rows.Scan(&g.ID, &g.Key, &g.Kind, &g.DisplayName, &g.Members, &g.Version, &g.Created, &g.Modified); err != nil {
			return nil, fmt.Errorf("scan group: %w", err)
		}
		if len(g.Members) == 0 {
			g.Members = nil
		}
		g.Created, g.Modified = g.Created.UTC(), g.Modified.UTC()
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read groups: %w", err)
	}
	return out, nil
}

// State reads everything in one repeatable-read snapshot, so the identities,
// groups and sequence number agree with each other.
func (s *Store) State(ctx context.Context) (store.State, error) {
	var st store.State
	err := s.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var count int
		if err := tx.QueryRow(ctx, `SELECT (SELECT coalesce(max(seq), 0) FROM change_log), (SELECT count(*) FROM identities)`).Scan(&st.Seq, &count); err != nil {
			return fmt.Errorf("read change-log end: %w", err)
		}
		var err error
		if st.Identities, err = queryIdentitiesSized(ctx, tx, count, true, ""); err != nil {
			return err
		}
		st.Interned = true
		st.Groups, err = queryGroups(ctx, tx, "")
		return err
	})
	return st, err
}

func (s *Store) IdentitiesByID(ctx context.Context, ids []string) ([]store.Identity, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return queryIdentitiesSized(ctx, s.pool, len(ids), true, `WHERE id = ANY($1)`, ids)
}

func (s *Store) GroupsByID(ctx context.Context, ids []string) ([]store.Group, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return queryGroups(ctx, s.pool, `WHERE id = ANY($1)`, ids)
}

func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM change_log`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read change-log end: %w", err)
	}
	return seq, nil
}

func (s *Store) Changes(ctx context.Context, q store.ChangeQuery) ([]store.Change, error) {
	where, args := changeFilter(q)
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultChangeLimit
	}
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, `SELECT seq, at, actor, cause, reason, kind, resource_id, op, before, after, members_added, members_removed
		FROM change_log WHERE `+where+fmt.Sprintf(` ORDER BY seq LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("query change log: %w", err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read change log: %w", err)
	}
	return out, nil
}

func changeFilter(q store.ChangeQuery) (string, []any) {
	conds := []string{"seq > $1"}
	args := []any{q.AfterSeq}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if !q.Since.IsZero() {
		add("at >= $%d", q.Since)
	}
	if !q.Until.IsZero() {
		add("at < $%d", q.Until)
	}
	if q.Actor != "" {
		add("actor = $%d", q.Actor)
	}
	if q.Kind != "" {
		add("kind = $%d", string(q.Kind))
	}
	if q.ResourceID != "" {
		add("resource_id = $%d", q.ResourceID)
	}
	return strings.Join(conds, " AND "), args
}

func scanChange(rows pgx.Rows) (store.Change, error) {
	var c store.Change
	var kind, op string
	var before, after []byte
	var at time.Time
	if err := rows.Scan(&c.Seq, &at, &c.Actor, &c.Cause, &c.Reason, &kind, &c.ResourceID, &op, &before, &after, &c.MembersAdded, &c.MembersRemoved); err != nil {
		return c, fmt.Errorf("scan change: %w", err)
	}
	c.Time, c.Kind, c.Op = at.UTC(), store.ResourceKind(kind), store.Op(op)
	var err error
	if c.Before, err = decodeFlatMap(before); err != nil {
		return c, fmt.Errorf("decode change %d: %w", c.Seq, err)
	}
	if c.After, err = decodeFlatMap(after); err != nil {
		return c, fmt.Errorf("decode change %d: %w", c.Seq, err)
	}
	return c, nil
}
