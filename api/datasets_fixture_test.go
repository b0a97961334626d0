package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Topic words of the test corpus: document i is about subjects[i] and its
// two traits; its query names the subject and the first trait, so base
// retrieval works and training has signal to sharpen.
var (
	fixtureSubjects = strings.Fields(`cat dog horse eagle shark whale tiger rabbit snake frog
		apple banana orange grape lemon carrot potato tomato onion garlic
		piano guitar violin drum trumpet car train bicycle airplane boat
		doctor teacher farmer pilot lawyer river mountain desert forest ocean`)
	fixtureTraits = strings.Fields(`speed strength colour size sound taste smell price history music
		winter summer rain snow wind fire water stone gold silver
		night morning city village market school church garden kitchen bridge
		king queen army war peace money trade law science art
		sugar salt bread milk coffee tea wine beer cheese meat
		iron steel glass paper cotton wool silk leather rubber plastic
		north south east west island coast valley lake hill field
		health danger family friend travel sport power energy light shadow`)
)

// beirFixture is a small BEIR dataset: 40 documents, 30 train queries and
// 10 test queries, one relevant document each.
type beirFixture struct {
	corpus, queries, qrelsTrain, qrelsTest string
}

func newBEIRFixture() beirFixture {
	var corpus, queries, train, test strings.Builder
	train.WriteString("query-id\tcorpus-id\tscore\n")
	test.WriteString("query-id\tcorpus-id\tscore\n")
	for i, s := range fixtureSubjects {
		t1, t2 := fixtureTraits[2*i], fixtureTraits[2*i+1]
		writeJSONLine(&corpus, map[string]string{"_id": fmt.Sprintf("doc%d", i), "title": s,
			"text": fmt.Sprintf("The %s is famous for its %s and its %s.", s, t1, t2)})
		writeJSONLine(&queries, map[string]string{"_id": fmt.Sprintf("q%d", i),
			"text": fmt.Sprintf("%s %s", s, t1)})
		qrels := &train
		if i >= 30 {
			qrels = &test
		}
		fmt.Fprintf(qrels, "q%d\tdoc%d\t1\n", i, i)
	}
	return beirFixture{corpus.String(), queries.String(), train.String(), test.String()}
}

func writeJSONLine(b *strings.Builder, v any) {
	raw, _ := json.Marshal(v)
	b.Write(raw)
	b.WriteByte('\n')
}

// parts is the fixture as an upload: qrels once by part name, once by file name.
func (f beirFixture) parts(name string) []formPart {
	return []formPart{
		{"name", "", name},
		{"corpus", "corpus.jsonl", f.corpus},
		{"queries", "queries.jsonl", f.queries},
		{"qrels_train", "whatever.tsv", f.qrelsTrain},
		{"qrels", "test.tsv", f.qrelsTest},
	}
}
