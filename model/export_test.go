package model

// TokenRows exposes tokenRows to the external tests.
var TokenRows = tokenRows
