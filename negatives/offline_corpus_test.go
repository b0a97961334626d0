package negatives

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
)

// offlineAnimalCorpus: "mice", "rats" and "dogs" each occur after the same
// 15 qualifiers, twice each, always followed by "developed lesions". The
// animals are therefore perfect substitutes, and "developed" shares every
// document with each of them.
func offlineAnimalCorpus() []string {
	quals := []string{"treated", "knockout", "male", "female", "aged", "young", "obese", "lean",
		"infected", "irradiated", "transgenic", "fasted", "sedentary", "pregnant", "diabetic"}
	var docs []string
	for _, animal := range []string{"mice", "rats", "dogs"} {
		for _, q := range quals {
			for range 2 {
				docs = append(docs, fmt.Sprintf("The %s %s developed lesions.", q, animal))
			}
		}
	}
	return docs
}

func TestOfflineCorpusNeighbours(t *testing.T) {
	c := NewCorpusNeighbours(offlineAnimalCorpus())
	if got := c.Terms(); got != 15+3+2 {
		t.Errorf("Terms() = %d, want 20", got)
	}
	got := c.Neighbours("mice", 2)
	slices.Sort(got) // equal scores: order then rests on float rounding
	if want := []string{"dogs", "rats"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Neighbours(mice) = %v, want %v", got, want)
	}
	// Qualifiers have 4 contexts each: too few to be proposed or trusted.
	if got := c.Neighbours("treated", 5); got != nil {
		t.Errorf("Neighbours(treated) = %v, want nil (too few contexts)", got)
	}
	if got := c.Neighbours("unseen", 5); got != nil {
		t.Errorf("Neighbours(unseen) = %v", got)
	}
	// Qualifiers share only 2 documents with an animal (< 3), and "lesions"
	// has too few contexts to be proposed, which leaves "developed".
	if got, want := c.Associates("mice", 5), []string{"developed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Associates(mice) = %v, want %v", got, want)
	}
	if c.IDF("unseen") <= c.IDF("mice") || c.IDF("mice") <= c.IDF("developed") {
		t.Errorf("IDF not decreasing with frequency: unseen %.3f mice %.3f developed %.3f",
			c.IDF("unseen"), c.IDF("mice"), c.IDF("developed"))
	}
}

// TestCorpusNeighboursDeterministic: the result does not depend on the
// number of workers, and concurrent lookups agree (run with -race).
func TestOfflineCorpusDeterministic(t *testing.T) {
	docs := offlineAnimalCorpus()
	a := NewCorpusNeighbours(docs, CorpusWorkers(1))
	b := NewCorpusNeighbours(docs, CorpusWorkers(4))
	if !reflect.DeepEqual(a.vec, b.vec) || !reflect.DeepEqual(a.terms, b.terms) {
		t.Fatal("1 and 4 workers built different statistics")
	}
	want := a.Neighbours("rats", 5)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := b.Neighbours("rats", 5); !reflect.DeepEqual(got, want) {
				t.Errorf("concurrent Neighbours(rats) = %v, want %v", got, want)
			}
			b.Associates("dogs", 3)
		})
	}
	wg.Wait()
}

func TestOfflineMergeCounts(t *testing.T) {
	a := []cfPairCount{{0, 1, 2}, {0, 3, 1}, {2, 5, 4}}
	b := []cfPairCount{{0, 1, 1}, {1, 2, 7}, {2, 5, 1}, {3, 4, 1}}
	want := []cfPairCount{{0, 1, 3}, {0, 3, 1}, {1, 2, 7}, {2, 5, 5}, {3, 4, 1}}
	if got := cfMergeCounts(a, b); !reflect.DeepEqual(got, want) {
		t.Errorf("cfMergeCounts = %v, want %v", got, want)
	}
}
