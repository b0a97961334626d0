package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"retune/internal/ortenv"
	"retune/model"
	"retune/models"
)

// runModelsAdd imports an ONNX encoder (a Hugging Face or
// sentence-transformers snapshot) into the models folder.
func runModelsAdd(ctx context.Context, args []string) error {
	fs := newFlags("models add", "--name NAME --from SNAPSHOT [--onnx FILE] [--pooling MODE] [--normalize true|false] [--max-length N] [--force]",
		"Copies an ONNX encoder and its tokenizer.json into the models folder as NAME, with the pooling, normalisation and token limit its "+
			"sentence-transformers configs give (modules.json, 1_Pooling/config.json, sentence_bert_config.json; else config.json), "+
			"checks that retune runs it, and prints what it wrote and where each setting came from.")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so (default: $RETUNE_ORT_LIB, then the models folder)")
	root := modelsFlag(fs)
	name := fs.String("name", "", "the encoder's name (its folder in the models folder; what --model and the API's model field take)")
	from := fs.String("from", "", "the snapshot folder (model.onnx or onnx/model.onnx, tokenizer.json, configs), or the .onnx file")
	onnxFile := fs.String("onnx", "", "the model file when the snapshot has several (e.g. onnx/model_quantized.onnx), relative to --from or the working directory")
	pooling := fs.String("pooling", "", "mean, cls, max, lasttoken, mean_sqrt_len or weightedmean (default: from the snapshot's Pooling config, else mean)")
	normalize := fs.String("normalize", "", "true or false: L2-normalise the vectors (default: from modules.json, else true)")
	maxLength := fs.Int("max-length", 0, "tokens per text, truncated beyond (0, the default: sentence_bert_config.json's max_seq_length, else tokenizer.json's truncation, else config.json's positions up to 512, else 512)")
	force := fs.Bool("force", false, "replace an encoder an earlier models add wrote under NAME")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o := models.ImportOptions{Name: *name, From: *from, ONNX: *onnxFile, Pooling: *pooling, MaxLength: *maxLength, Force: *force, Check: model.CheckFolder}
	switch {
	case *name == "":
		return usageError{errors.New("models add needs --name NAME")}
	case models.ImportNameError(*name) != nil:
		return usageError{fmt.Errorf("--name: %w", models.ImportNameError(*name))}
	case *from == "":
		return usageError{errors.New("models add needs --from SNAPSHOT (a folder or an .onnx file)")}
	case *pooling != "" && !models.ValidPooling(*pooling):
		return usageError{fmt.Errorf("--pooling %q: want one of %s", *pooling, strings.Join(models.PoolingModes, ", "))}
	case *maxLength < 0:
		return usageError{fmt.Errorf("--max-length must not be negative (0: from the snapshot), got %d", *maxLength)}
	}
	switch *normalize {
	case "":
	case "true", "false":
		v := *normalize == "true"
		o.Normalize = &v
	default:
		return usageError{fmt.Errorf("--normalize %q: want true or false", *normalize)}
	}
	if err := mustExist("from", *from, "folder or file"); err != nil {
		return err
	}
	lib, err := models.ResolveORTLib(*ortLib, root.Get())
	if err != nil {
		return err
	}
	if err := ortenv.Init(lib); err != nil {
		return err
	}
	rep, err := models.Import(ctx, root.Get(), o)
	if errors.Is(err, models.ErrNameTaken) {
		return usageError{reworded{err, strings.TrimPrefix(err.Error(), "import: ")}}
	}
	if err != nil {
		// "retune models add: import: …" would say it twice.
		return reworded{err, strings.TrimPrefix(err.Error(), "import: ")}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(os.Stderr, "retune models add: warning: %s\n", w)
	}
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}
