package api

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"

	"retune/internal/jsontype"
	"retune/internal/vecmath"
	"retune/tokenize"

	"github.com/gin-gonic/gin"
)

// embeddingsRequest is OpenAI's POST /v1/embeddings body.
type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat *string         `json:"encoding_format,omitempty"` // nil: float
	Dimensions     *int            `json:"dimensions,omitempty"`
	User           string          `json:"user,omitempty"`
}

type embeddingsResponse struct {
	Object string          `json:"object"`
	Data   []embeddingData `json:"data"`
	Model  string          `json:"model"`
	Usage  usage           `json:"usage"`
	// Unembeddable lists the inputs (indexes) whose embedding is all zero,
	// because the encoder knows none of their tokens or the head maps them
	// to zero: it says nothing about them, and its cosine with anything is
	// undefined. An extension to OpenAI's response, which its clients
	// ignore.
	Unembeddable []int `json:"unembeddable,omitempty"`
}

type embeddingData struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string of little-endian float32
}

type usage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

func (s *Server) createEmbeddings(c *gin.Context) {
	var req embeddingsRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Model == "" {
		badRequestParam(c, "model", "field \"model\" is required")
		return
	}
	texts, msg, param := parseInput(req.Input)
	if msg != "" {
		badRequestParam(c, param, msg)
		return
	}
	if len(texts) > s.cfg.MaxInputs {
		abort(c, http.StatusRequestEntityTooLarge, codeTooLarge,
			fmt.Sprintf("%d inputs in one request; the limit is %d (the server's operator can raise it with retune serve --max-inputs)", len(texts), s.cfg.MaxInputs))
		return
	}
	if f := req.EncodingFormat; f != nil && *f != "float" && *f != "base64" {
		badRequestParam(c, "encoding_format", "encoding_format must be \"float\" or \"base64\"")
		return
	}
	embed, dim, err := s.embedderFor(c.Request.Context(), req.Model)
	if err != nil {
		s.abortEmbedder(c, req.Model, err)
		return
	}
	if req.Dimensions != nil && *req.Dimensions != dim {
		badRequestParam(c, "dimensions", fmt.Sprintf("dimensions %d not supported: model %q outputs %d", *req.Dimensions, req.Model, dim))
		return
	}
	vecs, tokens, zero, err := embed(c.Request.Context(), texts)
	if err != nil {
		if c.Request.Context().Err() != nil {
			return // client went away
		}
		if i, why, ok := untokenizable(err); ok {
			param := fmt.Sprintf("input[%d]", i)
			badRequestParam(c, param, fmt.Sprintf("%s cannot be tokenized by model %q's tokenizer: %v", param, req.Model, why))
			return
		}
		s.internalError(c, fmt.Errorf("embed: %w", err))
		return
	}
	if i, j := vecmath.FirstNonFinite(vecs); i >= 0 {
		// JSON has no NaN: the answer would fail after its 200 was sent.
		// Stored heads are checked when loaded, so this is the encoder's.
		s.internalError(c, fmt.Errorf("embed: input %d: the model gave a non-finite value at %d", i, j))
		return
	}
	s.countEmbedded("embeddings", len(texts))
	resp := embeddingsResponse{Object: "list", Model: req.Model, Data: make([]embeddingData, len(vecs)),
		Usage: usage{PromptTokens: tokens, TotalTokens: tokens}, Unembeddable: zero}
	for i, v := range vecs {
		var emb any = v
		if req.EncodingFormat != nil && *req.EncodingFormat == "base64" {
			emb = encodeBase64(v)
		}
		resp.Data[i] = embeddingData{Object: "embedding", Index: i, Embedding: emb}
	}
	c.JSON(http.StatusOK, resp)
}

// untokenizable reports which text the encoder's tokenizer failed on, and
// why, where that is err's cause: texts are checked for emptiness first,
// so what is left is a tokenizer that cannot take the text (sugarme, under
// some tokenizer.json shapes, panics on a few inputs, which is recovered
// as an error). The client can leave that text out and retry.
func untokenizable(err error) (index int, why error, ok bool) {
	var te *tokenize.TextError
	if !errors.As(err, &te) {
		return 0, nil, false
	}
	return te.Index, te.Err, true
}

// stringArray decodes raw as a non-empty array of strings, null items
// and other types failing it.
func stringArray(raw json.RawMessage) ([]string, bool) {
	var ps []*string
	if json.Unmarshal(raw, &ps) != nil || len(ps) == 0 {
		return nil, false
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		if p == nil {
			return nil, false
		}
		out[i] = *p
	}
	return out, true
}

// parseInput accepts a string or an array of strings and checks each text,
// so a user error is a 400 naming the offending index, never a 500.
func parseInput(raw json.RawMessage) (texts []string, msg, param string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "field \"input\" is required: a string or an array of strings", "input"
	}
	switch raw[0] {
	case '"':
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, "field \"input\": " + err.Error(), "input"
		}
		texts = []string{one}
	case '[':
		// One pass for the usual array of strings (pointers, so a null item
		// shows); anything else is diagnosed item by item below.
		if ps, ok := stringArray(raw); ok {
			texts = ps
			break
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, "field \"input\": " + err.Error(), "input"
		}
		if len(items) == 0 {
			return nil, "field \"input\" is an empty array", "input"
		}
		texts = make([]string, len(items))
		for i, it := range items {
			if len(it) == 0 || it[0] != '"' || json.Unmarshal(it, &texts[i]) != nil {
				msg := fmt.Sprintf("input[%d] is %s, not a string", i, jsontype.Of(it))
				if len(it) > 0 && it[0] == '[' {
					msg += " (token arrays are not supported)"
				}
				return nil, msg, fmt.Sprintf("input[%d]", i)
			}
		}
	default:
		return nil, "field \"input\" must be a string or an array of strings", "input"
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Sprintf("input[%d] is empty", i), fmt.Sprintf("input[%d]", i)
		}
	}
	return texts, "", ""
}

func encodeBase64(v []float32) string {
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(buf)
}

type modelInfo struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) listModels(c *gin.Context) {
	names, err := s.cfg.Models.List()
	if err != nil {
		s.internalError(c, err)
		return
	}
	data := make([]modelInfo, 0, len(names))
	for _, n := range names {
		data = append(data, modelInfo{ID: n, Object: "model", OwnedBy: "retune"})
	}
	heads, err := s.headModels(c.Request.Context(), names)
	if err != nil {
		s.internalError(c, err)
		return
	}
	data = append(data, heads...)
	c.JSON(http.StatusOK, gin.H{"object": "list", "data": data})
}
