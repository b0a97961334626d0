package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// lister adapts one List method to ids, with a way to create its objects.
type lister struct {
	name   string
	prefix string
	create func(t *testing.T, s *Store, at time.Time) string
	list   func(s *Store, p Page) ([]string, bool, error)
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func listers() []lister {
	ctx := context.Background()
	return []lister{
		{"datasets", PrefixDataset,
			func(t *testing.T, s *Store, at time.Time) string {
				d, err := s.CreateDataset(ctx, Dataset{Format: FormatBEIR, CreatedAt: at})
				if err != nil {
					t.Fatal(err)
				}
				return d.ID
			},
			func(s *Store, p Page) ([]string, bool, error) {
				xs, more, err := s.ListDatasets(ctx, p)
				return ids(xs, func(d Dataset) string { return d.ID }), more, err
			}},
		{"jobs", PrefixJob,
			func(t *testing.T, s *Store, at time.Time) string {
				d := mustDataset(t, s)
				j, err := s.CreateJob(ctx, Job{DatasetID: d.ID, Encoder: "e", CreatedAt: at})
				if err != nil {
					t.Fatal(err)
				}
				return j.ID
			},
			func(s *Store, p Page) ([]string, bool, error) {
				xs, more, err := s.ListJobs(ctx, p)
				return ids(xs, func(j Job) string { return j.ID }), more, err
			}},
		{"heads", PrefixHead,
			func(t *testing.T, s *Store, at time.Time) string {
				h, err := s.CreateHead(ctx, Head{Encoder: "e", DIn: 2, DOut: 2, CreatedAt: at})
				if err != nil {
					t.Fatal(err)
				}
				return h.ID
			},
			func(s *Store, p Page) ([]string, bool, error) {
				xs, more, err := s.ListHeads(ctx, p)
				return ids(xs, func(h Head) string { return h.ID }), more, err
			}},
		{"collections", PrefixCollection,
			func(t *testing.T, s *Store, at time.Time) string {
				c, err := s.CreateCollection(ctx, Collection{Encoder: "e", CreatedAt: at})
				if err != nil {
					t.Fatal(err)
				}
				return c.ID
			},
			func(s *Store, p Page) ([]string, bool, error) {
				xs, more, err := s.ListCollections(ctx, p)
				return ids(xs, func(c Collection) string { return c.ID }), more, err
			}},
	}
}

// TestPagination pages through 7 objects with every page size, for every
// listing.
// Two objects share a creation time, so the id tie-break is exercised too.
func TestPagination(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	offsets := []time.Duration{0, 1, 2, 3, 3, 4, 5} // seconds; the two 3s tie
	for _, l := range listers() {
		t.Run(l.name, func(t *testing.T) {
			s := openTest(t)
			type obj struct {
				id string
				at time.Time
			}
			var objs []obj
			// Created out of time order, so the order listed cannot come
			// from insertion order.
			for _, i := range []int{3, 0, 6, 4, 1, 5, 2} {
				at := base.Add(offsets[i] * time.Second)
				objs = append(objs, obj{l.create(t, s, at), at})
			}
			slices.SortFunc(objs, func(a, b obj) int { // newest first, then id descending
				if c := b.at.Compare(a.at); c != 0 {
					return c
				}
				return strings.Compare(b.id, a.id)
			})
			want := ids(objs, func(o obj) string { return o.id })

			// Every page size puts the cursor on a different object,
			// including each of the two that tie on created_at.
			for limit := 1; limit <= len(want); limit++ {
				var got []string
				var mores []bool
				after := ""
				for range len(want) + 1 {
					page, more, err := l.list(s, Page{Limit: limit, After: after})
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, page...)
					mores = append(mores, more)
					if !more {
						break
					}
					after = page[len(page)-1]
				}
				if !slices.Equal(got, want) {
					t.Errorf("limit %d: paged ids\n got %v\nwant %v", limit, got, want)
				}
				pages := (len(want) + limit - 1) / limit
				wantMores := make([]bool, pages)
				for i := range pages - 1 {
					wantMores[i] = true
				}
				if !slices.Equal(mores, wantMores) {
					t.Errorf("limit %d: hasMore per page = %v, want %v", limit, mores, wantMores)
				}
			}

			all, more, err := l.list(s, Page{}) // default limit fits all 7
			if err != nil || more || !slices.Equal(all, want) {
				t.Errorf("default page = %v, %v, %v", all, more, err)
			}
			last, more, err := l.list(s, Page{Limit: 3, After: want[len(want)-1]})
			if err != nil || more || len(last) != 0 {
				t.Errorf("page after the last object = %v, %v, %v; want empty", last, more, err)
			}
			if _, _, err := l.list(s, Page{After: NewID(l.prefix)}); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown cursor: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestPageLimitClamped(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for range MaxPageLimit + 5 {
		mustDataset(t, s)
	}
	for _, tc := range []struct {
		limit, want int
		more        bool
	}{
		{0, DefaultPageLimit, true},
		{-1, DefaultPageLimit, true},
		{1, 1, true},
		{MaxPageLimit, MaxPageLimit, true},
		{MaxPageLimit + 1000, MaxPageLimit, true},
	} {
		got, more, err := s.ListDatasets(ctx, Page{Limit: tc.limit})
		if err != nil || len(got) != tc.want || more != tc.more {
			t.Errorf("Limit %d: %d items, hasMore %v, %v; want %d, %v", tc.limit, len(got), more, err, tc.want, tc.more)
		}
	}
}
