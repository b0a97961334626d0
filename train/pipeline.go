package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"retune/dataset"
	"retune/eval"
	"retune/internal/memroom"
	"retune/model"
	"retune/negatives"
	"retune/objective"
)

// Stage names, in pipeline order (the service reports them as job stages).
const (
	StageEmbedding  = "embedding"
	StageMining     = "mining"
	StageGenerating = "generating"
	StageTraining   = "training"
	StageEvaluating = "evaluating"
)

// Negatives modes.
const (
	NegNone      = "none"
	NegMined     = "mined"
	NegGenerated = "generated"
	NegBoth      = "mined+generated"
)

// PipelineConfig is a whole fine-tuning run's settings.
type PipelineConfig struct {
	Train      Config               `json:"train"`
	Negatives  string               `json:"negatives"`
	Mine       negatives.MineConfig `json:"mine"`
	Generation negatives.RunConfig  `json:"generation"`
	TrainSplit string               `json:"train_split"`
	TestSplit  string               `json:"test_split"`
}

// DefaultPipelineConfig trains on "train" with mined negatives and reports on "test".
func DefaultPipelineConfig() PipelineConfig {
	return PipelineConfig{Train: DefaultConfig(), Negatives: NegMined, Mine: negatives.DefaultMineConfig(),
		Generation: negatives.DefaultRunConfig(), TrainSplit: "train", TestSplit: "test"}
}

// Validate checks the settings users can get wrong.
// Every problem is listed, one a line, each starting with the setting's
// name where it is about one.
func (c PipelineConfig) Validate() error {
	var msgs []string
	switch c.Negatives {
	case NegNone, NegMined, NegGenerated, NegBoth:
	default:
		msgs = append(msgs, fmt.Sprintf("negatives must be one of none, mined, generated, mined+generated; got %q", c.Negatives))
	}
	switch {
	case c.TrainSplit == "":
		msgs = append(msgs, "train_split is empty")
	case c.TestSplit == c.TrainSplit:
		// The "test" metrics would be measured on the training queries.
		msgs = append(msgs, fmt.Sprintf("test_split must differ from train_split (both %q): give a held-out split, or none", c.TrainSplit))
	}
	if err := c.Train.Validate(); err != nil {
		msgs = append(msgs, err.Error())
	}
	// Checked here, before anything is embedded, rather than where mining
	// and generation would trip on them minutes later.
	if c.Mine.PerQuery < 1 || c.Mine.PerQuery > 1000 {
		msgs = append(msgs, fmt.Sprintf("mined_per_query must be in [1, 1000], got %d", c.Mine.PerQuery))
	}
	if !(c.Mine.Margin > 0) {
		msgs = append(msgs, fmt.Sprintf("margin must be > 0, got %g", c.Mine.Margin))
	}
	if c.Generation.PerQuery < 1 || c.Generation.PerQuery > 50 {
		msgs = append(msgs, fmt.Sprintf("per_query must be in [1, 50], got %d", c.Generation.PerQuery))
	}
	if g := c.Generation; g.Concurrency < 1 || g.Concurrency > 256 {
		msgs = append(msgs, fmt.Sprintf("generation concurrency must be in [1, 256], got %d", g.Concurrency))
	}
	if f := c.Generation.Filter; f.MinWords < 1 {
		msgs = append(msgs, fmt.Sprintf("gen_min_words (the generated-negative minimum length) must be >= 1, got %d", f.MinWords))
	}
	if f := c.Generation.Filter; !(f.MaxCosToPositive > 0 && f.MaxCosToPositive <= 1) {
		msgs = append(msgs, fmt.Sprintf("gen_max_cos (the generated-negative cosine limit) must be in (0, 1] (1 rejects only exact copies), got %g", f.MaxCosToPositive))
	}
	if c.Negatives == NegNone && !c.Train.InBatch {
		msgs = append(msgs, "negatives none without in-batch negatives leaves InfoNCE nothing to contrast a positive with: enable in_batch or choose mined negatives")
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "\n"))
	}
	return nil
}

// StageEvent reports stage progress (Done of Total units, or a sub-event of training).
type StageEvent struct {
	Stage string `json:"stage"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
	Train *Event `json:"train,omitempty"`
	Note  string `json:"note,omitempty"`
	// Warn marks a Note about something the user should look at: the run
	// goes on, but not as asked.
	Warn bool `json:"warn,omitempty"`
}

// Pipeline runs embedding → mining → generating → training → evaluating.
// With a WorkDir, each finished stage's output is kept there and reused when
// the run is restarted, and training resumes from its last checkpoint.
type Pipeline struct {
	Encoder   *model.Encoder
	Cache     *Cache
	Generator negatives.Generator // needed for generated negatives
	// Provided are hard negatives that came with the dataset (query id →
	// doc ids). When set they take the place of mined negatives: they enter
	// InfoNCE as "mined" and are the candidates a generator rewrites.
	Provided map[string][]string
	WorkDir  string
	Progress func(StageEvent)
	// Ledger admits the run's memory estimate (EstimateMemory) against
	// what the machine has left less what other runs it admitted hold (a
	// server's jobs and collections); nil: a ledger of the run's own over
	// memroom.Room. A run that does not fit is refused with a *MemoryError
	// before it embeds anything, or before training once its negatives are
	// known. SkipMemoryCheck runs it regardless.
	Ledger          *memroom.Ledger
	SkipMemoryCheck bool
	// RestartOnOtherRun lets a run whose WorkDir holds an earlier attempt
	// with other settings start over instead of failing with ErrOtherRun:
	// what the earlier attempt kept was computed with settings this run
	// does not reproduce. The server sets it for jobs, whose own settings
	// never change: what differs is the server's (the encoder's files,
	// replaced by `retune models add --force` while it was down; its LLM
	// endpoint or temperature; a build's prompt versions), and a job must
	// not fail for good for it. The CLI leaves the choice to the user.
	RestartOnOtherRun bool
}

// Result is what a run reports: base vs tuned metrics on the test split,
// stage reports and timings.
type Result struct {
	Encoder    string                `json:"encoder"`
	Base       eval.Metrics          `json:"base"`
	Tuned      eval.Metrics          `json:"tuned"`
	Mining     *negatives.MineReport `json:"mining,omitempty"`
	Generation *negatives.Report     `json:"generation,omitempty"`
	// Generated holds the kept counterfactuals with their provenance, saved
	// beside the head rather than inlined in every result.
	Generated []negatives.Negative `json:"-"`
	// Rejected holds the generated negatives the generator or the filters
	// refused, each with its reason, saved beside the head with Generated.
	Rejected    []negatives.Rejection `json:"-"`
	Training    Report                `json:"training"`
	TimingsS    map[string]float64    `json:"timings_s"`
	CacheHits   int                   `json:"cache_hits"`
	CacheMisses int                   `json:"cache_misses"`
	TestQueries int                   `json:"test_queries"`
	// TestQueriesTrainText counts the test queries whose text is a train
	// query's (dataset.TrainTextTestQueries): kept, as BEIR keeps them.
	TestQueriesTrainText int `json:"test_queries_train_text,omitempty"`
	// Unembeddable lists the texts left out for having no vector (nil when
	// there are none).
	Unembeddable *Unembeddable `json:"unembeddable,omitempty"`
	// Memory compares the run's memory estimate with what it took.
	Memory *MemoryReport `json:"memory,omitempty"`
}

func (p *Pipeline) emit(ev StageEvent) {
	if p.Progress != nil {
		p.Progress(ev)
	}
}

// Run fine-tunes a head on data's train split and evaluates base and tuned
// retrieval on the test split (when the dataset has one).
func (p *Pipeline) Run(ctx context.Context, data *dataset.BEIR, cfg PipelineConfig) (_ *model.Head, res Result, _ error) {
	if err := cfg.Validate(); err != nil {
		return nil, Result{}, err
	}
	res = Result{Encoder: p.Encoder.Name(), TimingsS: map[string]float64{}}
	_, trainQrels, err := data.Split(cfg.TrainSplit)
	if err != nil {
		return nil, res, err
	}
	// Checked before the work folder is claimed (checkWorkDir records the
	// settings), so a run refused here can be retried there with others.
	heap := memroom.StartWatch()
	shape := runShape(data, trainQrels, p.Provided)
	need := EstimateMemory(shape, p.Encoder.Dim(), cfg)
	defer func() { res.Memory = &MemoryReport{EstimateBytes: need.Total(), PeakHeapGrowthBytes: heap.Growth()} }()
	hold := p.memoryHold()
	defer hold.Release()
	if err := p.checkMemory(hold, need, 0); err != nil {
		return nil, res, err
	}
	if err := p.checkWorkDir(data, trainQrels, cfg); err != nil {
		return nil, res, err
	}
	clock := newStageClock(p.WorkDir)
	defer func() { res.TimingsS = clock.timings() }()
	var testQrels eval.Qrels
	var dupTexts []string // test queries with a train query's text
	if cfg.TestSplit != "" {
		if _, testQrels, err = data.Split(cfg.TestSplit); err != nil {
			return nil, res, err
		}
		if err := dataset.CheckHeldOut(cfg.TrainSplit, trainQrels, cfg.TestSplit, testQrels); err != nil {
			return nil, res, err
		}
		dupTexts = data.TrainTextTestQueries(trainQrels, testQrels)
	}

	// A run cancelled while its inputs loaded (an encoder takes seconds)
	// starts no stage: its log would otherwise show one after the cancel.
	if err := ctx.Err(); err != nil {
		return nil, res, err
	}
	// Embedding: every corpus text and query once, through the cache.
	embedTick, embedDone := clock.stage(StageEmbedding)
	p.emit(StageEvent{Stage: StageEmbedding, Total: len(data.Corpus) + len(data.Queries)})
	total := len(data.Corpus) + len(data.Queries)
	emb, err := EmbedDataset(ctx, p.Cache, p.Encoder, data.Corpus, data.Queries, func(done int) {
		// Called as each chunk is saved in the cache: the time that
		// embedded it is kept, as the vectors are, if the run stops.
		embedTick()
		if done > 0 && done < total { // start and end are reported around the call
			p.emit(StageEvent{Stage: StageEmbedding, Done: done, Total: total})
		}
	})
	if err != nil {
		return nil, res, err
	}
	res.CacheHits, res.CacheMisses = emb.Stats.Hits, emb.Stats.Misses
	if res.Unembeddable = emb.DropZeroVectors(); res.Unembeddable != nil {
		p.emit(StageEvent{Stage: StageEmbedding, Note: res.Unembeddable.String()})
	}
	corpusIDs, docVecs := emb.DocIDs, emb.DocVecs
	set := &Set{QueryVecs: emb.QueryVecs, DocVecs: map[string][]float32{}, CorpusIDs: corpusIDs, Qrels: trainQrels, Negatives: map[string][]NegRef{}}
	for i, id := range corpusIDs {
		set.DocVecs[id] = docVecs[i]
	}
	p.emit(StageEvent{Stage: StageEmbedding, Done: len(data.Corpus) + len(data.Queries), Total: len(data.Corpus) + len(data.Queries)})
	embedDone()

	// Mining with the base encoder.
	var mined map[string][]string
	if cfg.Negatives == NegMined || cfg.Negatives == NegBoth || cfg.Negatives == NegGenerated {
		_, mineDone := clock.stage(StageMining)
		p.emit(StageEvent{Stage: StageMining, Total: len(trainQrels)})
		var rep negatives.MineReport
		// Cached either way: with provided negatives the queries that came
		// without any are mined, which a resumed run must not pay again.
		reused, err := p.cached(StageMining, minedStageFile, &struct {
			M *map[string][]string
			R *negatives.MineReport
		}{&mined, &rep}, func() error {
			var err error
			if p.Provided != nil {
				mined, rep, err = p.provided(ctx, set, trainQrels, cfg.Mine)
			} else {
				mined, rep, err = p.mine(ctx, set, trainQrels, cfg.Mine, len(trainQrels))
			}
			return err
		})
		if err != nil {
			return nil, res, err
		}
		res.Mining = &rep
		if cfg.Negatives != NegGenerated {
			for q, ids := range mined {
				for _, id := range ids {
					set.Negatives[q] = append(set.Negatives[q], NegRef{DocID: id, Source: objective.Mined})
				}
			}
		}
		note := fmt.Sprintf("%d negatives, %d queries topped up past the margin", rep.Negatives, rep.FallbackQueries)
		if rep.Provided {
			note = fmt.Sprintf("using the dataset's %d provided hard negatives (%d queries) instead of mining", rep.Negatives-rep.MinedNegatives, rep.Queries-rep.MinedQueries)
			if rep.MinedQueries > 0 {
				note += fmt.Sprintf("; mined %d for the %d queries the dataset gave none", rep.MinedNegatives, rep.MinedQueries)
			}
		}
		if reused {
			note += " (from the previous attempt)"
		}
		p.emit(StageEvent{Stage: StageMining, Done: len(trainQrels), Total: len(trainQrels), Note: note})
		mineDone()
	}

	if cfg.Negatives == NegGenerated || cfg.Negatives == NegBoth {
		_, genDone := clock.stage(StageGenerating)
		out, err := p.generate(ctx, data, set, trainQrels, mined, cfg.Generation)
		if err != nil {
			return nil, res, err
		}
		gen := &out.Report
		res.Generation, res.Generated, res.Rejected = gen, out.Negatives, out.Rejected
		if note := generationWarning(gen); note != "" {
			p.emit(StageEvent{Stage: StageGenerating, Note: note, Warn: true})
		}
		if note := cacheWarning(p.Generator); note != "" {
			p.emit(StageEvent{Stage: StageGenerating, Note: note, Warn: true})
		}
		genDone()
	}

	// Checked again with the negatives as they are: generated ones were
	// only bounded before (per_query a pair), and are now on disk for a
	// rerun with other settings to reuse.
	if len(set.Negatives) > 0 || len(res.Generated) > 0 {
		refs := 0
		for _, negs := range set.Negatives {
			refs += len(negs)
		}
		shape.NegativesPerQuery = float64(refs) / float64(max(1, shape.TrainQueries))
		shape.Generated = len(res.Generated)
		need = EstimateMemory(shape, p.Encoder.Dim(), cfg)
		if err := p.checkMemory(hold, need, heap.Used()); err != nil {
			return nil, res, err
		}
	}

	// Training.
	epochDone, trainDone := clock.stage(StageTraining)
	// Announced before the trainer builds its pairs and scores the dev
	// split: that time is training's, not the previous stage's.
	p.emit(StageEvent{Stage: StageTraining, Total: cfg.Train.Epochs})
	learned := false // some epoch had a loss: something to contrast
	tr := &Trainer{Config: cfg.Train, Progress: func(ev Event) {
		if ev.Kind == "epoch" {
			epochDone()
			learned = learned || ev.Loss != 0
		}
		p.emit(StageEvent{Stage: StageTraining, Done: ev.Epoch, Total: ev.Epochs, Train: &ev})
	}}
	if p.WorkDir != "" {
		tr.CheckpointDir, tr.CheckpointEvery = filepath.Join(p.WorkDir, checkpointDir), CheckpointInterval
		tr.Warn = func(note string) { p.emit(StageEvent{Stage: StageTraining, Note: note, Warn: true}) }
		note, err := discardDamagedCheckpoint(tr.CheckpointDir)
		if err != nil {
			return nil, res, err
		}
		if note != "" {
			p.emit(StageEvent{Stage: StageTraining, Note: note, Warn: true})
		}
	}
	head, rep, err := tr.Train(ctx, set)
	releaseScratch()
	if err != nil {
		return nil, res, err
	}
	res.Training = rep
	if !learned && len(rep.EpochSeconds) > 0 {
		// A single pair and no negatives, say: the run "succeeds" with an
		// untouched head unless it is told.
		p.emit(StageEvent{Stage: StageTraining, Warn: true, Note: fmt.Sprintf(
			"every epoch's loss was 0: the %d training pairs give InfoNCE nothing to contrast (no negatives, and no other positive in a batch), so the head learned nothing; add pairs or negatives", rep.TrainPairs)})
	}
	if rep.BestEpoch == 0 && rep.EpochsRun > 0 {
		p.emit(StageEvent{Stage: StageTraining, Warn: true, Note: fmt.Sprintf(
			"no epoch of %d beat the base encoder on the dev split: the head kept is the untrained (identity) one, which ranks as the base encoder does", rep.EpochsRun)})
	}
	trainDone()

	// Evaluation on the held-out split.
	if len(testQrels) > 0 {
		_, evalDone := clock.stage(StageEvaluating)
		p.emit(StageEvent{Stage: StageEvaluating, Total: len(testQrels)})
		corpus, err := set.searchCorpus()
		if err != nil {
			return nil, res, err
		}
		if res.Base, err = Evaluate(nil, set.QueryVecs, corpus, testQrels); err != nil {
			return nil, res, err
		}
		if res.Tuned, err = Evaluate(head, set.QueryVecs, corpus, testQrels); err != nil {
			return nil, res, err
		}
		res.TestQueries = testQrels.Scored() // a query judging nothing relevant is not scored
		ev := StageEvent{Stage: StageEvaluating, Done: len(testQrels), Total: len(testQrels)}
		if res.TestQueriesTrainText = len(dupTexts); len(dupTexts) > 0 {
			ev.Note = fmt.Sprintf("%d of the %d test queries (first %q) repeat the text of a train query under another id; as in standard BEIR evaluation, they are scored",
				len(dupTexts), res.TestQueries, dupTexts[0])
		}
		p.emit(ev)
		evalDone()
	}
	return head, res, nil
}

// cacheWarning says when an LLM generator could not keep replies in its
// cache: a rerun pays for them again, which the README promises it won't.
func cacheWarning(g negatives.Generator) string {
	u, ok := g.(negatives.UsageReporter)
	if !ok {
		return ""
	}
	if lu, ok := u.UsageReport().(negatives.LLMGeneratorUsage); ok && lu.LLM.CacheErrors > 0 {
		return fmt.Sprintf("%d LLM replies could not be written to the reply cache (is its folder writable, the disk full?): a rerun would pay for them again", lu.LLM.CacheErrors)
	}
	return ""
}

// generationWarning says when generation fell short in a way the report
// alone would hide until the run ends: every negative rejected (training
// then goes on without any), or pairs that failed.
func generationWarning(r *negatives.Report) string {
	var parts []string
	var reasons []string
	for _, reason := range sortedKeys(r.RejectedByReason) { // the generator's own reasons too
		if n := r.RejectedByReason[reason]; n > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %d", reason, n))
		}
	}
	switch {
	case r.Kept == 0 && len(reasons) == 0: // nothing came back to filter
		parts = append(parts, fmt.Sprintf("no generated negative was kept (%d generated); training goes on without any", r.Generated))
	case r.Kept == 0:
		parts = append(parts, fmt.Sprintf("no generated negative was kept (%d generated; rejected: %s); training goes on without any",
			r.Generated, strings.Join(reasons, ", ")))
	case r.Kept*10 < r.Generated:
		// Nine in ten refused: the filters, not the generator, decide what
		// the run trains on (with glove-100d, near_identical: see the README).
		parts = append(parts, fmt.Sprintf("only %d of %d generated negatives were kept (rejected: %s)",
			r.Kept, r.Generated, strings.Join(reasons, ", ")))
	}
	if r.Failures > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d pairs failed (first: %s)", r.Failures, r.Pairs, strings.Join(r.FailureSamples[:min(1, len(r.FailureSamples))], "")))
	}
	return strings.Join(parts, "; ")
}

// provided takes the training queries' own negatives from p.Provided (a
// held-out query's are not training data) and mines for the training
// queries the dataset gave none, so that none is left with in-batch
// negatives only.
func (p *Pipeline) provided(ctx context.Context, set *Set, trainQrels eval.Qrels, cfg negatives.MineConfig) (map[string][]string, negatives.MineReport, error) {
	mined, rep := map[string][]string{}, negatives.MineReport{Provided: true}
	missing := eval.Qrels{}
	for q, docs := range trainQrels {
		if ids := p.Provided[q]; len(ids) > 0 {
			mined[q] = ids
			rep.Queries++
			rep.Negatives += len(ids)
		} else {
			missing[q] = docs
		}
	}
	if len(missing) == 0 {
		return mined, rep, nil
	}
	extra, mrep, err := p.mine(ctx, set, missing, cfg, len(trainQrels))
	if err != nil {
		return nil, rep, err
	}
	for q, ids := range extra {
		mined[q] = ids
	}
	rep.MinedQueries, rep.MinedNegatives = mrep.Queries, mrep.Negatives
	rep.Queries += mrep.Queries
	rep.Negatives += mrep.Negatives
	rep.FallbackQueries, rep.FallbackNegs = mrep.FallbackQueries, mrep.FallbackNegs
	rep.MarginRejected, rep.PositivesSkipped = mrep.MarginRejected, mrep.PositivesSkipped
	rep.IVF = mrep.IVF
	return mined, rep, nil
}

// mine mines negatives for the queries of qrels, reporting progress as
// StageEvents out of total (the stage's queries; those of qrels come last).
func (p *Pipeline) mine(ctx context.Context, set *Set, qrels eval.Qrels, cfg negatives.MineConfig, total int) (map[string][]string, negatives.MineReport, error) {
	corpus, err := set.searchCorpus()
	if err != nil {
		return nil, negatives.MineReport{}, err
	}
	ix, _ := corpus.Index(nil)
	var qids []string
	var qv [][]float32
	for q := range qrels {
		if v, ok := set.QueryVecs[q]; ok {
			qids = append(qids, q)
			qv = append(qv, v)
		}
	}
	var search negatives.Searcher = ix
	var ivf *negatives.IVFReport
	if lists, probe, ok := cfg.UseIVF(ix.Len(), len(qids)); ok {
		start := time.Now()
		p.emit(StageEvent{Stage: StageMining, Note: fmt.Sprintf("building an IVF (%d lists, %d probed per query) to mine %d queries over %d documents; exact mining (--mine-exact; a job's hyperparameters.mine_exact) ranks them exactly", lists, probe, len(qids), ix.Len())})
		search = eval.NewIVF(ix, lists, probe, 1) // a fixed seed: the same data mines the same negatives
		ivf = &negatives.IVFReport{Lists: lists, Probe: probe, BuildS: time.Since(start).Seconds()}
	}
	before := total - len(qrels)
	mined, rep, err := negatives.Mine(ctx, search, func(id string) []float32 { return set.DocVecs[id] }, qids, qv, qrels, cfg, func(done int) {
		if before+done < total { // the stage's end is reported with its note
			p.emit(StageEvent{Stage: StageMining, Done: before + done, Total: total})
		}
	})
	rep.IVF = ivf
	return mined, rep, err
}

// generate asks the Generator for counterfactual negatives of every training
// pair, filters and scores them with the base encoder (negatives.Run), and
// adds the kept ones to the set as generated negatives.
func (p *Pipeline) generate(ctx context.Context, data *dataset.BEIR, set *Set, qrels eval.Qrels, mined map[string][]string, cfg negatives.RunConfig) (*negatives.Result, error) {
	if p.Generator == nil {
		return nil, errors.New("generated negatives requested but no generator is configured")
	}
	req := negatives.Request{Candidates: map[string][]string{}}
	for _, q := range sortedKeys(qrels) {
		for _, d := range sortedKeys(qrels[q]) {
			query, _ := data.Query(q)
			if doc, ok := data.Doc(d); ok && qrels[q][d] > 0 {
				req.Pairs = append(req.Pairs, negatives.Pair{QueryID: q, Query: query.Text, PosID: d, Positive: doc.Content()})
			}
		}
		for _, id := range mined[q] {
			if doc, ok := data.Doc(id); ok {
				req.Candidates[q] = append(req.Candidates[q], doc.Content())
			}
		}
	}
	p.emit(StageEvent{Stage: StageGenerating, Total: len(req.Pairs)})
	embed := func(ctx context.Context, texts []string) ([][]float32, error) {
		v, _, err := p.Cache.Embed(ctx, p.Encoder, texts)
		return v, err
	}
	var out negatives.Result
	if _, err := p.cached(StageGenerating, generatedStageFile, &out, func() error {
		spend := p.llmSpending()
		r, err := negatives.Run(ctx, p.Generator, req, cfg, embed, func(done, total int) {
			if done < total { // the end is reported once the negatives are embedded
				p.emit(StageEvent{Stage: StageGenerating, Done: done, Total: total})
			}
			spend.save(false)
		})
		total, spent := spend.save(true)
		if r != nil {
			if u, ok := r.Report.Usage.(negatives.LLMGeneratorUsage); ok && spent {
				u.LLM = total // every attempt's spending, not only this one's
				r.Report.Usage = u
			}
			out = *r
		}
		return err
	}); err != nil {
		return nil, err
	}
	byQuery := map[string][]string{}
	for _, n := range out.Negatives {
		byQuery[n.QueryID] = append(byQuery[n.QueryID], n.Text)
	}
	for _, q := range sortedKeys(byQuery) {
		vecs, err := embed(ctx, byQuery[q])
		if err != nil {
			return nil, fmt.Errorf("embed generated negatives: %w", err)
		}
		for i := range vecs {
			if isZero(vecs[i]) {
				continue // no token the encoder knows: nothing to rank (see Unembeddable)
			}
			id := fmt.Sprintf("gen:%s:%d", q, i)
			set.DocVecs[id] = vecs[i]
			set.Negatives[q] = append(set.Negatives[q], NegRef{DocID: id, Source: objective.Generated})
		}
	}
	p.emit(StageEvent{Stage: StageGenerating, Done: len(req.Pairs), Total: len(req.Pairs)})
	return &out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The stage outputs a work folder keeps (see cached).
const (
	minedStageFile     = "mined.json"
	generatedStageFile = "generated.json"
)

// cached loads a stage's output from the work dir (reused), or computes
// and saves it. A save the disk refuses is a warning, not a failure: the
// file only spares a restart the stage, which it then runs again.
func (p *Pipeline) cached(stage, name string, v any, compute func() error) (reused bool, _ error) {
	if p.WorkDir == "" {
		return false, compute()
	}
	path := filepath.Join(p.WorkDir, name)
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, v); err == nil {
			p.emit(StageEvent{Stage: stage, Note: "reused " + name + " from a previous attempt"})
			return true, nil
		}
	}
	if err := compute(); err != nil {
		return false, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	if err := writeWorkFile(p.WorkDir, name, b); err != nil {
		p.emit(StageEvent{Stage: stage, Warn: true, Note: fmt.Sprintf(
			"%s was not saved (%s); the run goes on, and a restart would run this stage again", name, writeCause(err))})
	}
	return false, nil
}
