//go:build !unix

package sandbox

func buildLock(string) (func(), error) { return func() {}, nil }
