package eval

// Test-only access for the external test package (package eval_test, which
// may import linalg and testenv).
var (
	TieCorpus                = tieCorpus
	ClusterCorpus            = clusterCorpus
	TieQueries               = tieQueries
	RequireBatchEqualsSearch = requireBatchEqualsSearch
	TopicCorpus              = topicCorpus
)

// SetBatchMinQueries sets batchMinQueries and returns a function that puts
// it back.
func SetBatchMinQueries(n int) (restore func()) {
	old := batchMinQueries
	batchMinQueries = n
	return func() { batchMinQueries = old }
}
