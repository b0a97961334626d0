package api

// SetMemory makes s see total bytes of memory in all and room bytes left,
// for tests of the jobs' memory checks.
func SetMemory(s *Server, total, room uint64) {
	s.memTotal = func() (uint64, bool) { return total, true }
	s.memRoom = func() (uint64, bool) { return room, true }
}

// SpecPath is specPath, which TestRoutesMatchSpec checks on every route.
var SpecPath = specPath
