package export

import (
	"fmt"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"retune/model/onnxgraph"
)

// Graph surgery on loaded encoder models. Names are matched across nested
// subgraphs (If/Loop/Scan bodies) too, since ONNX lets them read
// outer-scope values by name.

// usedNames adds every value name g (and its subgraphs) defines or reads.
func usedNames(g *onnx.GraphProto, names map[string]bool) {
	for _, v := range g.Input {
		names[v.Name] = true
	}
	for _, t := range g.Initializer {
		names[t.Name] = true
	}
	for _, n := range g.Node {
		for _, s := range append(append([]string{}, n.Input...), n.Output...) {
			names[s] = true
		}
		for _, sg := range onnxgraph.Subgraphs(n) {
			usedNames(sg, names)
		}
	}
}

// freshName returns base, or base_N, such that no value in g has that name.
func freshName(g *onnx.GraphProto, base string) string {
	names := map[string]bool{}
	usedNames(g, names)
	name := base
	for i := 1; names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}

// renameValue renames every reference to the value from, wherever it occurs.
func renameValue(g *onnx.GraphProto, from, to string) {
	for _, v := range g.Input {
		if v.Name == from {
			v.Name = to
		}
	}
	for _, list := range [][]*onnx.ValueInfoProto{g.Output, g.ValueInfo} {
		for _, v := range list {
			if v.Name == from {
				v.Name = to
			}
		}
	}
	for _, t := range g.Initializer {
		if t.Name == from {
			t.Name = to
		}
	}
	for _, n := range g.Node {
		for i, s := range n.Input {
			if s == from {
				n.Input[i] = to
			}
		}
		for i, s := range n.Output {
			if s == from {
				n.Output[i] = to
			}
		}
		for _, sg := range onnxgraph.Subgraphs(n) {
			renameValue(sg, from, to)
		}
	}
}

// prune drops the nodes, initializers and value_info entries that no longer
// contribute to g's outputs, e.g. a Hugging Face export's pooler branch once
// its output is gone, so the fused file is encoder + head and nothing more.
// Graph inputs are kept: callers feed what the tokenizer produces whether or
// not the model reads it. Nodes are in topological order (an ONNX
// requirement), so one backward sweep finds everything needed.
func prune(g *onnx.GraphProto) {
	needed := map[string]bool{}
	for _, o := range g.Output {
		needed[o.Name] = true
	}
	keep := make([]bool, len(g.Node))
	for i := len(g.Node) - 1; i >= 0; i-- {
		n := g.Node[i]
		for _, out := range n.Output {
			if out != "" && needed[out] {
				keep[i] = true
				break
			}
		}
		if !keep[i] {
			continue
		}
		for _, in := range n.Input {
			needed[in] = true
		}
		// A subgraph may read any outer value; keep all it mentions.
		for _, sg := range onnxgraph.Subgraphs(n) {
			usedNames(sg, needed)
		}
	}
	nodes := g.Node[:0]
	for i, n := range g.Node {
		if keep[i] {
			nodes = append(nodes, n)
		}
	}
	clear(g.Node[len(nodes):])
	g.Node = nodes

	inputs := map[string]bool{}
	for _, v := range g.Input {
		inputs[v.Name] = true
	}
	inits := g.Initializer[:0]
	for _, t := range g.Initializer {
		// An initializer named like a graph input is that input's default;
		// dropping it would turn an optional input into a required one.
		if needed[t.Name] || inputs[t.Name] {
			inits = append(inits, t)
		}
	}
	clear(g.Initializer[len(inits):])
	g.Initializer = inits

	infos := g.ValueInfo[:0]
	for _, v := range g.ValueInfo {
		if needed[v.Name] {
			infos = append(infos, v)
		}
	}
	clear(g.ValueInfo[len(infos):])
	g.ValueInfo = infos
}

// uniqueNodeNames renames later nodes whose name repeats an earlier one.
// onnxruntime rejects duplicate node names, and they arise when a fused
// model is fused again: the Builder names a node after its output, so both
// exports name their last node after sentence_embedding.
func uniqueNodeNames(g *onnx.GraphProto) {
	seen := map[string]bool{}
	for _, n := range g.Node {
		if n.Name != "" {
			seen[n.Name] = true
		}
	}
	taken := map[string]bool{}
	for _, n := range g.Node {
		if n.Name == "" {
			continue
		}
		if taken[n.Name] {
			base := n.Name
			for i := 1; seen[n.Name]; i++ {
				n.Name = fmt.Sprintf("%s_%d", base, i)
			}
			seen[n.Name] = true
		}
		taken[n.Name] = true
	}
}

// inputPositionIDs is the positions input of decoder exports.
const inputPositionIDs = "position_ids"

// dropInput removes graph input name, renaming its uses to a fresh name
// that the caller must define, which it returns ("" when g has no such
// input).
func dropInput(g *onnx.GraphProto, name string) string {
	for i, in := range g.Input {
		if in.Name != name {
			continue
		}
		fresh := freshName(g, "retune_"+name)
		renameValue(g, name, fresh)
		g.Input = append(g.Input[:i], g.Input[i+1:]...)
		return fresh
	}
	return ""
}
