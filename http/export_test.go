package http

// RuText is the Russian catalog, for the pages' tests.
func RuText() map[string]string { return ruText }
