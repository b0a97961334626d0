package onnxgraph

import (
	"errors"
	"fmt"

	"github.com/advancedclimatesystems/gonnx/onnx"
)

// Validate checks the structural rules ONNX Runtime would otherwise report
// later and less clearly: every value is defined exactly once, nodes are in
// topological order, graph outputs are produced, and raw initializer data
// matches its dims. It does not type-check operators.
func Validate(g *onnx.GraphProto) error {
	if g == nil {
		return errors.New("onnxgraph: model has no graph")
	}
	defined := map[string]bool{}
	def := func(name, what string) error {
		if name == "" {
			return fmt.Errorf("onnxgraph: %s with empty name", what)
		}
		if defined[name] {
			return fmt.Errorf("onnxgraph: %s %q defined twice", what, name)
		}
		defined[name] = true
		return nil
	}
	for _, v := range g.Input {
		if err := def(v.Name, "graph input"); err != nil {
			return err
		}
	}
	for _, t := range g.Initializer {
		// An initializer may share its name with a graph input: ONNX treats
		// that input as optional with the initializer as default.
		if !defined[t.Name] {
			if err := def(t.Name, "initializer"); err != nil {
				return err
			}
		}
		if t.RawData != nil {
			if _, err := RawTensor(t.Name, onnx.TensorProto_DataType(t.DataType), t.Dims, t.RawData); err != nil {
				return fmt.Errorf("onnxgraph: %w", err)
			}
		}
	}
	for i, n := range g.Node {
		if n.OpType == "" {
			return fmt.Errorf("onnxgraph: node %d (%q) has no op type", i, n.Name)
		}
		for _, in := range n.Input {
			if in != "" && !defined[in] {
				return fmt.Errorf("onnxgraph: node %d (%s %q) reads %q before it is defined", i, n.OpType, n.Name, in)
			}
		}
		if len(n.Output) == 0 {
			return fmt.Errorf("onnxgraph: node %d (%s %q) has no outputs", i, n.OpType, n.Name)
		}
		for _, out := range n.Output {
			if out == "" {
				continue // an omitted optional output
			}
			if err := def(out, n.OpType+" output"); err != nil {
				return err
			}
		}
	}
	if len(g.Output) == 0 {
		return errors.New("onnxgraph: graph has no outputs")
	}
	for _, o := range g.Output {
		if !defined[o.Name] {
			return fmt.Errorf("onnxgraph: graph output %q is never produced", o.Name)
		}
	}
	return nil
}
