package eval

// Test-only access for the external test package (package eval_test, which
// may import linalg).
var (
	TieCorpus                = tieCorpus
	ClusterCorpus            = clusterCorpus
	TieQueries               = tieQueries
	RequireBatchEqualsSearch = requireBatchEqualsSearch
)
