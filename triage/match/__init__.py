"""Match: the hash-list library (`lists/`) and the matchers that compare contents with it."""
